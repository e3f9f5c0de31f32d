// A register-blocked product for the small matrices of one attention tile (T ≤ a few hundred,
// K of a head's 24-64 channels or of T): single-threaded, no packing of the left operand, which
// is read an element at a time through two strides, so it may be a transposed view for free.
// Written with GCC's vector extensions; the build's -march picks the width (one 512-bit register
// per vector with AVX-512, 256-bit without), and the compiler emits the FMAs.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

namespace vg::cpu::small_gemm {

#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#else
constexpr int kVectorBytes = 32;
#endif

template <typename T>
struct Vec {
    typedef T type __attribute__((vector_size(kVectorBytes)));
    static constexpr int64_t lanes = kVectorBytes / int64_t(sizeof(T));
};

// Rounds n up to whole vectors of T: the row width of a packed right operand.
template <typename T>
constexpr int64_t padded(int64_t n) {
    return (n + Vec<T>::lanes - 1) / Vec<T>::lanes * Vec<T>::lanes;
}

// MR rows x NV vectors of c = alpha * a @ b: a(r, k) = a[r * ar + k * ac]; b's row k holds NV
// whole vectors at b + k * ldb; c's first `cols` columns of each row (stride ldc) are written.
template <typename T, int MR, int NV>
inline void block(const T* a, int64_t ar, int64_t ac, const T* b, int64_t ldb, int64_t K, T alpha,
                  T* c, int64_t ldc, int64_t cols) {
    using V = typename Vec<T>::type;
    constexpr int64_t L = Vec<T>::lanes;
    V acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = V{};
    for (int64_t k = 0; k < K; ++k) {
        V bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) std::memcpy(&bv[v], b + k * ldb + v * L, sizeof(V));
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            const T s = a[r * ar + k * ac];
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[r][v] += s * bv[v];
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        T* cr = c + r * ldc;
        if (cols == NV * L) {
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) {
                V out = acc[r][v] * alpha;
                std::memcpy(cr + v * L, &out, sizeof(V));
            }
        } else {
            T tmp[NV * L];
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) {
                V out = acc[r][v] * alpha;
                std::memcpy(tmp + v * L, &out, sizeof(V));
            }
            std::memcpy(cr, tmp, size_t(cols) * sizeof(T));
        }
    }
}

// Rows per block for NV vectors of columns: as many accumulators as the registers hold
// (4 x 4 = 16 of AVX-512's 32 at the widest).
template <int NV>
constexpr int rows_per_block() {
    return NV >= 4 ? 4 : NV == 3 ? 6 : 8;
}

template <typename T, int NV, int MR>
inline void rows_tail(const T* a, int64_t ar, int64_t ac, const T* b, int64_t ldb, int64_t K,
                      T alpha, T* c, int64_t ldc, int64_t cols, int64_t rows) {
    if constexpr (MR > 0) {
        if (rows == MR) return block<T, MR, NV>(a, ar, ac, b, ldb, K, alpha, c, ldc, cols);
        rows_tail<T, NV, MR - 1>(a, ar, ac, b, ldb, K, alpha, c, ldc, cols, rows);
    }
}

template <typename T, int NV>
void column_panel(const T* a, int64_t ar, int64_t ac, const T* b, int64_t ldb, int64_t M, int64_t K,
                  T alpha, T* c, int64_t ldc, int64_t cols) {
    constexpr int MR = rows_per_block<NV>();
    int64_t i = 0;
    for (; i + MR <= M; i += MR)
        block<T, MR, NV>(a + i * ar, ar, ac, b, ldb, K, alpha, c + i * ldc, ldc, cols);
    if (i < M)
        rows_tail<T, NV, MR - 1>(a + i * ar, ar, ac, b, ldb, K, alpha, c + i * ldc, ldc, cols,
                                 M - i);
}

// c[M, N] = alpha * a[M, K] @ b[K, N] with a(i, k) = a[i * ar + k * ac] and b row-major (row
// stride ldb), whose rows must be readable up to padded<T>(N) columns (zero padding or real data;
// the extra columns are computed and dropped). c is row-major with row stride ldc; only its
// first N columns are written.
template <typename T>
void gemm(const T* a, int64_t ar, int64_t ac, const T* b, int64_t ldb, int64_t M, int64_t K,
          int64_t N, T alpha, T* c, int64_t ldc) {
    constexpr int64_t L = Vec<T>::lanes;
    for (int64_t j = 0; j < N; j += 4 * L) {
        const int64_t cols = std::min<int64_t>(N - j, 4 * L);
        switch ((cols + L - 1) / L) {
            case 4:
                column_panel<T, 4>(a, ar, ac, b + j, ldb, M, K, alpha, c + j, ldc, cols);
                break;
            case 3:
                column_panel<T, 3>(a, ar, ac, b + j, ldb, M, K, alpha, c + j, ldc, cols);
                break;
            case 2:
                column_panel<T, 2>(a, ar, ac, b + j, ldb, M, K, alpha, c + j, ldc, cols);
                break;
            default:
                column_panel<T, 1>(a, ar, ac, b + j, ldb, M, K, alpha, c + j, ldc, cols);
        }
    }
}

}  // namespace vg::cpu::small_gemm
