// Finiteness checks over many tensors with one read-back from the device: the trainer proves the
// parameters finite before it evaluates or saves, and resume and eval refuse NaN weights.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace vg {

// The name of the first floating-point tensor holding a NaN or an infinity, or "" when all are
// finite (integer tensors are skipped). sum(t * 0) is exactly 0 when every element of t is finite
// and NaN otherwise (inf * 0 and NaN * 0 are NaN), whatever the magnitudes, so one small vector
// of per-tensor sums is all that crosses from the device.
std::string first_nonfinite(const std::vector<std::pair<std::string, Tensor>>& tensors);
std::string first_nonfinite(const std::map<std::string, Tensor>& tensors);

}  // namespace vg
