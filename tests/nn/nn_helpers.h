// Shared helpers for module and model tests: move weights off their init, and gradcheck a module
// with respect to its input and every parameter.
#pragma once
#include <functional>

#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "nn/module.h"
#include "tests/helpers.h"

namespace vg::test {

// Adds uniform noise in [-scale, scale) to every parameter, so no weight sits at a symmetric or
// degenerate init value.
inline void perturb(nn::Module& m, double scale, uint64_t seed) {
    NoGradGuard ng;
    for (auto& [name, p] : m.named_parameters()) {
        Tensor noise = uniform(p.shape(), -scale, scale, p.dtype(), seed++);
        p.detach().add_(noise);
    }
}

// Float64 gradcheck of f(x) over x and all of `m`'s parameters (m must already be float64).
inline GradcheckResult gradcheck_module(nn::Module& m, const Tensor& x,
                                        const std::function<Tensor(const Tensor&)>& f,
                                        GradcheckOptions opt = {}) {
    std::vector<Tensor> inputs{x};
    for (auto& [name, p] : m.named_parameters()) inputs.push_back(p);
    return gradcheck([&](const std::vector<Tensor>& xs) { return f(xs[0]); }, inputs, opt);
}

}  // namespace vg::test
