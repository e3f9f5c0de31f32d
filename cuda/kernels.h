// CUDA-only launchers. The kernels both backends share are declared once, for vg::cpu and vg::cuda
// alike, in core/kernels.h (from the list in core/kernel_list.inc); launchers queue work on the
// device's stream and return without synchronising, except where a host value is needed
// (check_indices, copies to the host). No Eigen and nothing nvcc cannot parse may be included here.
#pragma once
#include "core/kernels.h"

namespace vg::cuda {

// Contiguous src and dst of one shape and dtype on different devices (host <-> device, or
// device <-> device); Tensor::to() is its only caller.
void copy_across(const Tensor& src, Tensor& dst);

}  // namespace vg::cuda
