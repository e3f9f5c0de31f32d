// The backward pass over the recorded tape.
#pragma once
#include "core/tensor.h"

namespace vg {

// Backpropagates `grad` (same shape as `root`) from `root` into every leaf that requires grad.
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

}  // namespace vg
