// The generic CUDA reduction on the sizes that take its multi-block paths: a whole tensor of
// millions of elements (chunks, then a second kernel), a few long rows, and few outputs over many
// rows (splits), against the CPU and against itself run twice (no atomics: the same bits every
// run). Skipped without a device.
#include <cmath>
#include <functional>

#include "tests/helpers.h"

using namespace vg;
using namespace vg::test;

namespace {

void check_reduction(const char* what, const Tensor& x_cpu,
                     const std::function<Tensor(const Tensor&)>& f) {
    INFO(what, " ", x_cpu.desc());
    Tensor xg = x_cpu.to(Device::cuda());
    std::vector<double> want = f(x_cpu).to_vector(), got = f(xg).to_vector();
    std::vector<double> again = f(xg).to_vector();
    CHECK(got == again);  // deterministic
    REQUIRE(got.size() == want.size());
    double tol = x_cpu.dtype() == DType::F64 ? 1e-12 : 1e-5;
    for (size_t i = 0; i < got.size(); ++i)
        if (!(std::abs(got[i] - want[i]) <= tol * (1 + std::abs(want[i])) * 100)) {
            FAIL_CHECK("element ", i, ": cpu ", want[i], " cuda ", got[i]);
            return;
        }
}

}  // namespace

TEST_CASE("cuda reduce: whole tensors, long rows and many rows, deterministic") {
    VG_REQUIRE_CUDA();
    for (DType dt : {DType::F64, DType::F32}) {
        Tensor big = uniform({4000037}, -1, 1, dt, 9);
        check_reduction("sum all", big, [](const Tensor& x) { return sum(x); });
        check_reduction("mean all", big, [](const Tensor& x) { return mean(x); });
        check_reduction("sum of squares (gradient norm)", big,
                        [](const Tensor& x) { return sum(mul(x, x)); });
        check_reduction("max all", big, [](const Tensor& x) { return max(x); });
        Tensor rows = big.narrow(0, 0, 4000000).view({2, 2000000});
        check_reduction("sum long rows", rows, [](const Tensor& x) { return sum(x, {1}); });
        check_reduction("argmax long rows", rows,
                        [](const Tensor& x) { return max(x, 1).indices.to(DType::F64); });
        Tensor tall = big.narrow(0, 0, 2400000).view({100000, 24});
        check_reduction("sum over many rows", tall, [](const Tensor& x) { return sum(x, {0}); });
        check_reduction("max over many rows", tall,
                        [](const Tensor& x) { return max(x, 0).values; });
        Tensor mid = big.narrow(0, 0, 2100000).view({3, 700, 1000});
        check_reduction("sum middle dim", mid, [](const Tensor& x) { return sum(x, {1}); });
    }
    // Backward of the Select rule on the device: the gradient lands on the first maximum.
    Tensor y = Tensor::from_vector({2, 5, 5, 1}, {4}, DType::F64, Device::cuda()).requires_grad_();
    max(y, 0).values.backward();
    CHECK(y.grad().to_vector() == std::vector<double>{0, 1, 0, 0});
}
