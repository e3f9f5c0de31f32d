// CPU batched GEMM over Eigen maps: transposed operands become column-major maps of the same
// memory, so no operand is ever copied. The only file that includes Eigen.
#include <Eigen/Core>

#include "core/cpu/loops.h"
#include "core/kernels.h"
#include "core/mat_layout.h"

namespace vg::cpu {

namespace {

template <typename T, bool RowMajor>
using ConstMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic,
                                                RowMajor ? Eigen::RowMajor : Eigen::ColMajor>,
                            Eigen::Unaligned, Eigen::OuterStride<>>;
template <typename T>
using OutMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// c = alpha * a @ b + beta * c for one matrix; c is never read when beta == 0 (it may be garbage).
template <typename T, bool RowA, bool RowB>
void gemm_one(const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t M, int64_t K,
              int64_t N, T alpha, T beta) {
    ConstMap<T, RowA> A(a, M, K, Eigen::OuterStride<>(lda));
    ConstMap<T, RowB> B(b, K, N, Eigen::OuterStride<>(ldb));
    OutMap<T> C(c, M, N);
    if (beta == T(0)) {
        if (alpha == T(1))
            C.noalias() = A * B;
        else
            C.noalias() = (alpha * A) * B;
        return;
    }
    if (beta != T(1)) C *= beta;
    if (alpha == T(1))
        C.noalias() += A * B;
    else
        C.noalias() += (alpha * A) * B;
}

template <typename T, bool RowA, bool RowB>
void gemm_batched(const Tensor& a, const Tensor& b, Tensor& c, const MatLayout& la,
                  const MatLayout& lb, T alpha, T beta) {
    int64_t Bt = c.shape()[0], M = c.shape()[1], N = c.shape()[2], K = a.shape()[2];
    int64_t sa = a.strides()[0], sb = b.strides()[0];
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* cp = c.data<T>();
    auto run = [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
            gemm_one<T, RowA, RowB>(ap + i * sa, la.outer, bp + i * sb, lb.outer, cp + i * M * N, M,
                                    K, N, alpha, beta);
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
