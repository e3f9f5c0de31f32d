// Float64 central-difference gradient checker (PyTorch's gradcheck defaults), for tests and for
// anyone adding an op.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace vg {

struct GradcheckOptions {
    double eps = 1e-6;
    double atol = 1e-5;
    double rtol = 1e-3;
    uint64_t seed = 1234;  // for the random output weights
};

struct GradcheckResult {
    bool ok = true;
    double max_abs_error = 0;  // worst |analytic - numeric|
    std::string message;       // where the worst mismatch is, when !ok
};

using TensorFn = std::function<Tensor(const std::vector<Tensor>& inputs)>;

// Checks d/dx of L = sum(r * f(x)) for random weights r against central differences, for every
// element of every input that requires grad. Inputs that require grad must be contiguous float64
// leaves, on any one device (f runs where its inputs are).
GradcheckResult gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opt = {});

}  // namespace vg
