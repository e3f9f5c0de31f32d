// The check the normalisations over dim 1 (batch_norm, group_norm) make of each per-channel
// vector (weight, bias, running statistics): undefined, or [C] on the input's device and dtype.
#pragma once

#include "core/error.h"
#include "core/tensor.h"

namespace vg {

inline void check_channel_vector(const char* op, const Tensor& x, const Tensor& t, int64_t C,
                                 const char* what) {
    if (!t.defined()) return;
    check_same_device(op, {&x, &t});
    check_same_dtype(op, {&x, &t});
    if (t.dim() != 1 || t.shape()[0] != C)
        fail(op, "{} must be [{}] for input {}, got {}", what, C, x.desc(), t.desc());
}

}  // namespace vg
