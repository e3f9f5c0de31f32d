// check_parity: one function run on CPU leaves and on CUDA copies of them, its output and every
// leaf gradient compared (backward from a fixed random output gradient). For the GPU tests.
#pragma once
#include <cmath>
#include <functional>
#include <string>

#include "tests/helpers.h"

namespace vg::test {

// Leaves are uniform in [lo, hi) (seeded); tolerances are relative to each tensor's largest value.
inline void check_parity(const char* what, const std::vector<Shape>& shapes,
                         const std::function<Tensor(const std::vector<Tensor>&)>& f, DType dt,
                         double lo = -2, double hi = 2) {
    INFO(what, " ", dtype_name(dt));
    std::vector<Tensor> cpu, gpu;
    uint64_t seed = 21;
    for (const Shape& s : shapes) {
        Tensor leaf = uniform(s, lo, hi, dt, seed++);
        cpu.push_back(leaf.detach().requires_grad_());
        gpu.push_back(leaf.to(Device::cuda()).requires_grad_());
    }
    Tensor yc = f(cpu), yg = f(gpu);
    REQUIRE(yg.device().is_cuda());
    REQUIRE(yc.shape() == yg.shape());
    Tensor dy = uniform(yc.shape(), -1, 1, dt, 5);
    yc.backward(dy);
    yg.backward(dy.to(Device::cuda()));
    double atol = dt == DType::F64 ? 1e-9 : 2e-4, rtol = dt == DType::F64 ? 1e-8 : 1e-4;
    auto close = [&](const Tensor& a, const Tensor& b, const std::string& name) {
        std::vector<double> va = a.to_vector(), vb = b.to_vector();
        double scale = 0;
        for (double v : va) scale = std::max(scale, std::abs(v));
        for (size_t i = 0; i < va.size(); ++i)
            if (!(std::abs(va[i] - vb[i]) <= atol * (1 + scale) + rtol * std::abs(va[i]))) {
                FAIL_CHECK(name, " element ", i, ": cpu ", va[i], " cuda ", vb[i]);
                return;
            }
    };
    close(yc, yg, "output");
    for (size_t i = 0; i < cpu.size(); ++i)
        close(cpu[i].grad(), gpu[i].grad(), "gradient " + std::to_string(i));
}

}  // namespace vg::test
