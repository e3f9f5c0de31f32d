// CUDA batched GEMM through cublasGemmStridedBatchedEx. Transposed operand views become cuBLAS
// transpose flags (never copies), a zero batch stride broadcasts an operand over the batch.
#include <climits>

#include "core/mat_layout.h"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace vg::cuda {

namespace {

int as_int(int64_t v, const Tensor& a, const Tensor& b) {
    if (v > INT_MAX)
        fail("matmul", "a dimension or leading dimension of {} @ {} exceeds cuBLAS's 32-bit range",
             a.desc(), b.desc());
    return int(v);
}

}  // namespace

// c [Bt, M, N] = alpha * a [Bt, M, K] @ b [Bt, K, N] + beta * c
//
// The row-major trick. cuBLAS is column-major, and a row-major [R, C] matrix read column-major
// is its transpose [C, R]. So we ask cuBLAS for C^T = B^T A^T (m = N, n = M, k = K), with b as its
// first operand and a as its second, and it writes C^T column-major, which is exactly C
// row-major with ldc = N. An operand stored row-major is already the transpose cuBLAS needs
// (CUBLAS_OP_N); one that is a transposed view (column-major) gets CUBLAS_OP_T. Leading
// dimensions are the operands' outer strides.
void matmul(const Tensor& a, const Tensor& b, Tensor& c, double alpha, double beta) {
    int64_t Bt = c.shape()[0], M = c.shape()[1], N = c.shape()[2], K = a.shape()[2];
    if (Bt == 0 || M == 0 || N == 0) return;
    if (K == 0) {  // an empty sum: only the beta term survives
        if (beta == 0.0)
            fill(c, 0.0);
        else
            unary_fwd(UnaryOp::MulScalar, UnaryParams{beta, 0.0}, c, c);
        return;
    }
    const GemmLayouts layouts = gemm_layouts(a, b, M, K, N);
    const MatLayout &la = layouts.a, &lb = layouts.b;
    cublasOperation_t op_b = lb.row_major ? CUBLAS_OP_N : CUBLAS_OP_T;
    cublasOperation_t op_a = la.row_major ? CUBLAS_OP_N : CUBLAS_OP_T;
    int m = as_int(N, a, b), n = as_int(M, a, b), k = as_int(K, a, b);
    int ldb = as_int(lb.outer, a, b), lda = as_int(la.outer, a, b), ldc = m;
    int batch = as_int(Bt, a, b);
    long long stride_b = Bt > 1 ? b.strides()[0] : 0, stride_a = Bt > 1 ? a.strides()[0] : 0;
    long long stride_c = (long long)(M * N);
    cublasHandle_t h = cublas(c.device().index);
    dispatch_float(c.dtype(), "matmul", [&]<typename T>() {
        constexpr bool f32 = std::is_same_v<T, float>;
        constexpr cudaDataType_t dt = f32 ? CUDA_R_32F : CUDA_R_64F;
        cublasComputeType_t compute = !f32           ? CUBLAS_COMPUTE_64F
                                      : allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                     : CUBLAS_COMPUTE_32F;
        T al = T(alpha), be = T(beta);
        VG_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, op_b, op_a, m, n, k, &al, dev_ptr<T>(b), dt,
                                                   ldb, stride_b, dev_ptr<T>(a), dt, lda, stride_a,
                                                   &be, dev_ptr<T>(c), dt, ldc, stride_c, batch,
                                                   compute, CUBLAS_GEMM_DEFAULT),
                        "matmul");
        check_launch("matmul", "cublasGemmStridedBatchedEx", c.device().index);
    });
}

}  // namespace vg::cuda
