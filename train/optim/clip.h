// Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_ semantics).
#pragma once
#include <vector>

#include "core/tensor.h"

namespace vg {

// L2 norm of all gradients taken together (parameters without a gradient are skipped).
double global_grad_norm(const std::vector<Tensor>& params);

// Scales every gradient by max_norm / (norm + 1e-6) when the global norm exceeds max_norm.
// Returns the norm before clipping; max_norm <= 0 only measures.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace vg
