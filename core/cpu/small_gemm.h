// A register-blocked product for the small matrices of one attention tile (T ≤ a few hundred,
// K of a head's 24-64 channels or of T): single-threaded, no packing of the left operand, which
// is read an element at a time through two strides, so it may be a transposed view for free.
// Written with GCC's vector extensions; the build's -march picks the width (one 512-bit register
// per vector with AVX-512, 256-bit without), and the compiler emits the FMAs.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace vg::cpu::small_gemm {

#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
// AVX-512 loads and stores a partial vector under a mask at full speed, so a right operand whose
// rows end inside a vector (a head of 24 channels) is read in place. Without it such an operand
// is copied into zero-padded rows first (attention.cpp's right_operand).
constexpr bool kMaskedTail = true;
#else
constexpr int kVectorBytes = 32;
constexpr bool kMaskedTail = false;
#endif

template <typename T>
struct Vec {
    typedef T type __attribute__((vector_size(kVectorBytes)));
    static constexpr int64_t lanes = kVectorBytes / int64_t(sizeof(T));
};

// The first n (< lanes) elements at p; the rest of the vector is zero.
template <typename T>
inline typename Vec<T>::type load_head(const T* p, int64_t n) {
    typename Vec<T>::type v{};
#if defined(__AVX512F__)
    if constexpr (sizeof(T) == 4)
        v = _mm512_maskz_loadu_ps(__mmask16((1u << n) - 1), p);
    else
        v = _mm512_maskz_loadu_pd(__mmask8((1u << n) - 1), p);
#else
    std::memcpy(&v, p, size_t(n) * sizeof(T));
#endif
    return v;
}

// Writes the first n (< lanes) elements of v to p.
template <typename T>
inline void store_head(T* p, typename Vec<T>::type v, int64_t n) {
#if defined(__AVX512F__)
    if constexpr (sizeof(T) == 4)
        _mm512_mask_storeu_ps(p, __mmask16((1u << n) - 1), v);
    else
        _mm512_mask_storeu_pd(p, __mmask8((1u << n) - 1), v);
#else
    std::memcpy(p, &v, size_t(n) * sizeof(T));
#endif
}

// Rounds n up to whole vectors of T: the row width of a packed right operand.
template <typename T>
constexpr int64_t padded(int64_t n) {
    return (n + Vec<T>::lanes - 1) / Vec<T>::lanes * Vec<T>::lanes;
}

// MR rows x NV vectors of c = alpha * a @ b: a(r, k) = a[r * ar + k * ac]; b's row k starts at
// b + k * ldb; c's first `cols` columns of each row (stride ldc) are written. With Tail, cols
// ends inside the last vector: with kMaskedTail b's rows are read only up to cols, without it up
// to NV whole vectors.
template <typename T, int MR, int NV, bool Tail>
inline void block(const T* a, int64_t ar, int64_t ac, const T* b, int64_t ldb, int64_t K, T alpha,
                  T* c, int64_t ldc, int64_t cols) {
    using V = typename Vec<T>::type;
    constexpr int64_t L = Vec<T>::lanes;
    constexpr int full = Tail ? NV - 1 : NV;  // whole vectors of a row
    const int64_t rest = cols - full * L;     // columns of the partial vector (Tail only)
    V acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = V{};
    for (int64_t k = 0; k < K; ++k) {
        V bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < full; ++v) std::memcpy(&bv[v], b + k * ldb + v * L, sizeof(V));
        if constexpr (Tail) {
            if constexpr (kMaskedTail)
                bv[NV - 1] = load_head(b + k * ldb + full * L, rest);
            else
                std::memcpy(&bv[NV - 1], b + k * ldb + full * L, sizeof(V));
        }
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
#pragma GCC unroll 4
        for (int v = 0; v < full; ++v) {
            V out = acc[r][v] * alpha;
            std::memcpy(cr + v * L, &out, sizeof(V));
        }
        if constexpr (Tail) store_head(cr + full * L, acc[r][NV - 1] * alpha, rest);
    }
}

// Rows per block for NV vectors of columns: as many accumulators as the registers hold
// (4 x 4 = 16 of AVX-512's 32 at the widest).
template <int NV>
constexpr int rows_per_block() {
    return NV >= 4 ? 4 : NV == 3 ? 6 : 8;
}

template <typename T, int NV, bool Tail, int MR>
inline void rows_tail(const T* a, int64_t ar, int64_t ac, const T* b, int64_t ldb, int64_t K,
                      T alpha, T* c, int64_t ldc, int64_t cols, int64_t rows) {
    if constexpr (MR > 0) {
        if (rows == MR) return block<T, MR, NV, Tail>(a, ar, ac, b, ldb, K, alpha, c, ldc, cols);
        rows_tail<T, NV, Tail, MR - 1>(a, ar, ac, b, ldb, K, alpha, c, ldc, cols, rows);
    }
}

template <typename T, int NV, bool Tail>
void column_panel(const T* a, int64_t ar, int64_t ac, const T* b, int64_t ldb, int64_t M, int64_t K,
                  T alpha, T* c, int64_t ldc, int64_t cols) {
    constexpr int MR = rows_per_block<NV>();
    int64_t i = 0;
    for (; i + MR <= M; i += MR)
        block<T, MR, NV, Tail>(a + i * ar, ar, ac, b, ldb, K, alpha, c + i * ldc, ldc, cols);
    if (i < M)
        rows_tail<T, NV, Tail, MR - 1>(a + i * ar, ar, ac, b, ldb, K, alpha, c + i * ldc, ldc, cols,
                                       M - i);
}

template <typename T, int NV>
void column_panel(const T* a, int64_t ar, int64_t ac, const T* b, int64_t ldb, int64_t M, int64_t K,
                  T alpha, T* c, int64_t ldc, int64_t cols) {
    if (cols == NV * Vec<T>::lanes)
        column_panel<T, NV, false>(a, ar, ac, b, ldb, M, K, alpha, c, ldc, cols);
    else
        column_panel<T, NV, true>(a, ar, ac, b, ldb, M, K, alpha, c, ldc, cols);
}

// c[M, N] = alpha * a[M, K] @ b[K, N] with a(i, k) = a[i * ar + k * ac] and b row-major (row
// stride ldb). b's rows are read up to N columns with kMaskedTail, else up to padded<T>(N) (zero
// padding or real data; the extra columns are computed and dropped). c is row-major with row
// stride ldc; only its first N columns are written.
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
