// The buffers of a normalisation's forward (layer_norm, group_norm) as typed pointers: the input,
// the optional affine weight and bias (null when undefined), the output and the saved per-row
// mean and 1/std. Unpacked with a structured binding: auto [xs, ws, bs, ys, ms, rs] = ...
#pragma once

#include "core/tensor.h"

namespace vg::cpu {

template <typename T>
struct NormForwardBuffers {
    const T *x, *w, *b;
    T *y, *mean, *rstd;
};

template <typename T>
NormForwardBuffers<T> norm_forward_buffers(const Tensor& x, const Tensor& w, const Tensor& b,
                                           Tensor& y, Tensor& mean, Tensor& rstd) {
    return {x.data<T>(),
            w.defined() ? w.data<T>() : nullptr,
            b.defined() ? b.data<T>() : nullptr,
            y.data<T>(),
            mean.data<T>(),
            rstd.data<T>()};
}

}  // namespace vg::cpu
