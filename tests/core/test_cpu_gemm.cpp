// oneDNN's sgemm against Eigen's GEMM and a float64 product, on the layouts and alpha/beta cases
// the CPU matmul kernel hands it: row-major and transposed operands, a padded leading dimension,
// batch stride 0, and beta = 0 over garbage (C must not be read).
#include <cmath>
#include <limits>

#include "core/cpu_gemm.h"
#include "core/kernels.h"
#include "tests/helpers.h"

using namespace vg;
using namespace vg::test;

namespace {

// True (and the case marked skipped, saying why) where this build has no oneDNN.
bool skip_without_onednn() {
    if (cpu_gemm_available(CpuGemm::OneDnn)) return false;
    MESSAGE("skipped: this build has no oneDNN (configure with libdnnl-dev installed)");
    mark_skipped();
    return true;
}

// Restores the process-wide GEMM choice when a test case ends.
struct GemmChoice {
    CpuGemm saved = cpu_gemm();
    ~GemmChoice() { set_cpu_gemm(saved); }
};

// A [Bt, rows, cols] float32 operand in the given layout: row-major, a transposed view, or a
// narrowed (padded leading dimension) view; values uniform in [-1, 1).
Tensor operand(int64_t Bt, int64_t rows, int64_t cols, char layout, uint64_t seed) {
    if (layout == 'T') return uniform({Bt, cols, rows}, -1, 1, DType::F32, seed).transpose(1, 2);
    if (layout == 'P')
        return uniform({Bt, rows, cols + 5}, -1, 1, DType::F32, seed).narrow(2, 1, cols);
    return uniform({Bt, rows, cols}, -1, 1, DType::F32, seed);
}

Tensor run_gemm(CpuGemm g, const Tensor& a, const Tensor& b, const Tensor& c0, double alpha,
                double beta) {
    set_cpu_gemm(g);
    Tensor c = c0.clone();
    cpu::matmul(a, b, c, alpha, beta);
    return c;
}

// float64 reference of alpha * a @ b + beta * c0 (c0 ignored when beta == 0).
Tensor reference(const Tensor& a, const Tensor& b, const Tensor& c0, double alpha, double beta) {
    const int64_t Bt = c0.shape()[0], M = c0.shape()[1], N = c0.shape()[2];
    Tensor c = Tensor::zeros({Bt, M, N}, DType::F64);
    cpu::matmul(a.to(DType::F64).contiguous(), b.to(DType::F64).contiguous(), c, alpha, 0.0);
    if (beta != 0.0) c = add(c, mul_scalar(c0.to(DType::F64), beta));
    return c;
}

}  // namespace

TEST_CASE("oneDNN's sgemm equals Eigen's and a float64 product on every operand layout") {
    if (skip_without_onednn()) return;
    GemmChoice restore;
    // Large enough that the kernel hands the product to oneDNN (>= 2^18 multiply-adds each).
    const int64_t Bt = 2, M = 97, K = 130, N = 71;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (char la : {'N', 'T', 'P'})
        for (char lb : {'N', 'T', 'P'})
            for (auto [alpha, beta] : {std::pair{1.0, 0.0}, {0.5, 0.0}, {1.0, 1.0}, {-2.0, 0.25}}) {
                CAPTURE(la);
                CAPTURE(lb);
                CAPTURE(alpha);
                CAPTURE(beta);
                Tensor a = operand(Bt, M, K, la, 1), b = operand(Bt, K, N, lb, 2);
                Tensor c0 = beta == 0.0 ? Tensor::full({Bt, M, N}, nan)
                                        : uniform({Bt, M, N}, -1, 1, DType::F32, 3);
                Tensor want = reference(a, b, c0, alpha, beta);
                Tensor dnnl = run_gemm(CpuGemm::OneDnn, a, b, c0, alpha, beta);
                Tensor eigen = run_gemm(CpuGemm::Eigen, a, b, c0, alpha, beta);
                // float32 sums of K = 130 products of values below 1: a few ulps of ~10.
                check_close(dnnl.to_vector(), want.to_vector(), 2e-4);
                check_close(eigen.to_vector(), want.to_vector(), 2e-4);
            }
}

TEST_CASE("oneDNN's sgemm takes a batch-stride-0 (broadcast) operand") {
    if (skip_without_onednn()) return;
    GemmChoice restore;
    Tensor a = uniform({3, 80, 64}, -1, 1, DType::F32, 4);
    Tensor w = uniform({1, 64, 90}, -1, 1, DType::F32, 5).expand({3, 64, 90});
    Tensor c0 = Tensor::zeros({3, 80, 90});
    check_close(run_gemm(CpuGemm::OneDnn, a, w, c0, 1, 0).to_vector(),
                reference(a, w, c0, 1, 0).to_vector(), 2e-4);
}

TEST_CASE("choosing a CPU GEMM that is not built in is an error naming it") {
    GemmChoice restore;
    set_cpu_gemm(CpuGemm::Eigen);
    CHECK(cpu_gemm() == CpuGemm::Eigen);
    if (!cpu_gemm_available(CpuGemm::OneDnn))
        CHECK_THROWS_WITH_AS(set_cpu_gemm(CpuGemm::OneDnn), doctest::Contains("onednn"), Error);
    else
        CHECK_NOTHROW(set_cpu_gemm(CpuGemm::OneDnn));
}
