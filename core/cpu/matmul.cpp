// CPU batched GEMM over Eigen maps or oneDNN's sgemm: transposed operands become column-major maps
// (or 'T' operands) of the same memory, so no operand is ever copied. The only file that includes
// Eigen's GEMM or oneDNN.
#include <Eigen/Core>
#include <atomic>
#include <type_traits>
#if VG_WITH_DNNL
#include <dnnl.h>
#endif

#include "core/cpu/loops.h"
#include "core/cpu_gemm.h"
#include "core/kernels.h"
#include "core/mat_layout.h"

namespace vg {

namespace {
std::atomic<CpuGemm> g_cpu_gemm{VG_WITH_DNNL ? CpuGemm::OneDnn : CpuGemm::Eigen};
}

bool cpu_gemm_available(CpuGemm g) { return g == CpuGemm::Eigen || VG_WITH_DNNL; }

void set_cpu_gemm(CpuGemm g) {
    if (!cpu_gemm_available(g))
        fail("cpu gemm", "{} is not built in (configure with -DVG_DNNL=ON and libdnnl-dev)",
             cpu_gemm_name(g));
    g_cpu_gemm = g;
}

CpuGemm cpu_gemm() { return g_cpu_gemm; }

const char* cpu_gemm_name(CpuGemm g) { return g == CpuGemm::Eigen ? "eigen" : "onednn"; }

}  // namespace vg

namespace vg::cpu {

namespace {

template <typename T, bool RowMajor>
using ConstMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic,
                                                RowMajor ? Eigen::RowMajor : Eigen::ColMajor>,
                            Eigen::Unaligned, Eigen::OuterStride<>>;
template <typename T>
using OutMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// Below this many multiply-adds a product stays with Eigen: oneDNN's per-call cost outweighs its
// faster kernel on attention's 65x48 @ 48x65 (docs/dependencies.md).
constexpr int64_t kOneDnnMinMacs = int64_t(1) << 18;

// c = alpha * a @ b + beta * c for one matrix; c is never read when beta == 0 (it may be garbage).
// Returns 0, or oneDNN's error status (the caller throws: this may run inside a parallel region).
template <typename T, bool RowA, bool RowB>
int gemm_one(const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t M, int64_t K,
             int64_t N, T alpha, T beta) {
#if VG_WITH_DNNL
    if constexpr (std::is_same_v<T, float>) {
        if (M * N * K >= kOneDnnMinMacs && cpu_gemm() == CpuGemm::OneDnn) {
            // Row-major sgemm: a column-major operand is the transpose of a row-major one.
            dnnl_status_t st = dnnl_sgemm(RowA ? 'N' : 'T', RowB ? 'N' : 'T', M, N, K, alpha, a,
                                          lda, b, ldb, beta, c, N);
            return st == dnnl_success ? 0 : int(st);
        }
    }
#endif
    ConstMap<T, RowA> A(a, M, K, Eigen::OuterStride<>(lda));
    ConstMap<T, RowB> B(b, K, N, Eigen::OuterStride<>(ldb));
    OutMap<T> C(c, M, N);
    if (beta == T(0)) {
        if (alpha == T(1))
            C.noalias() = A * B;
        else
            C.noalias() = (alpha * A) * B;
        return 0;
    }
    if (beta != T(1)) C *= beta;
    if (alpha == T(1))
        C.noalias() += A * B;
    else
        C.noalias() += (alpha * A) * B;
    return 0;
}

template <typename T, bool RowA, bool RowB>
void gemm_batched(const Tensor& a, const Tensor& b, Tensor& c, const MatLayout& la,
                  const MatLayout& lb, T alpha, T beta) {
    int64_t Bt = c.shape()[0], M = c.shape()[1], N = c.shape()[2], K = a.shape()[2];
    int64_t sa = a.strides()[0], sb = b.strides()[0];
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* cp = c.data<T>();
    std::atomic<int> status{0};
    auto run = [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
            if (int st = gemm_one<T, RowA, RowB>(ap + i * sa, la.outer, bp + i * sb, lb.outer,
                                                 cp + i * M * N, M, K, N, alpha, beta))
                status = st;
    };
    // Many small products (attention: B*H of 65x48 @ 48x65) are split over the batch, each one
    // single-threaded (Eigen sees it is inside a parallel region); one or a few large products
    // run in order and Eigen splits each over the OpenMP pool itself.
    constexpr int64_t kSmallGemmFlops = int64_t(1) << 18;
    bool over_batch = Bt > 1 && (Bt >= omp_get_max_threads() || M * N * K <= kSmallGemmFlops);
    if (over_batch)
        parallel_for(Bt, 1, run);
    else
        run(0, Bt);
    if (status != 0)
        fail("matmul", "oneDNN sgemm failed (status {}) on {} batches of {}x{} @ {}x{}",
             status.load(), Bt, M, K, K, N);
}

}  // namespace

void matmul(const Tensor& a, const Tensor& b, Tensor& c, double alpha, double beta) {
    int64_t Bt = c.shape()[0], M = c.shape()[1], N = c.shape()[2], K = a.shape()[2];
    if (Bt == 0 || M == 0 || N == 0) return;
    const GemmLayouts layouts = gemm_layouts(a, b, M, K, N);
    const MatLayout &la = layouts.a, &lb = layouts.b;
    dispatch_float(c.dtype(), "matmul", [&]<typename T>() {
        if (K == 0) {
            // An empty sum: only the beta term survives.
            T* cp = c.data<T>();
            for (int64_t i = 0; i < c.numel(); ++i) cp[i] = beta == 0.0 ? T(0) : T(beta) * cp[i];
            return;
        }
        T al = T(alpha), be = T(beta);
        if (la.row_major && lb.row_major)
            gemm_batched<T, true, true>(a, b, c, la, lb, al, be);
        else if (la.row_major)
            gemm_batched<T, true, false>(a, b, c, la, lb, al, be);
        else if (lb.row_major)
            gemm_batched<T, false, true>(a, b, c, la, lb, al, be);
        else
            gemm_batched<T, false, false>(a, b, c, la, lb, al, be);
    });
}

}  // namespace vg::cpu
