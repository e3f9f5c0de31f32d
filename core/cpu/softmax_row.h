// One softmax row, shared by the softmax kernel and the fused attention so that both give the
// same numbers: stable (the row max subtracted), float through the vectorisable exp of
// core/math.h (libm's expf is scalar), double through libm.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/math.h"

namespace vg::cpu {

template <typename T>
T row_exp(T x) {
    if constexpr (sizeof(T) == 4) return math::exp_approx(x);
    return std::exp(x);
}

// y[0, C) = softmax(x[0, C)); x and y may be the same row. A fully masked row (every logit -inf)
// gives zeros where PyTorch gives NaN; a row holding NaN stays NaN.
template <typename T>
void softmax_row(const T* x, T* y, int64_t C) {
    // simd reductions: max is exact in any order; the sum reassociates (a fixed order per build,
    // independent of the thread count).
    T mx = x[0];
#pragma omp simd reduction(max : mx)
    for (int64_t c = 1; c < C; ++c) mx = x[c] > mx ? x[c] : mx;
    if (mx == -std::numeric_limits<T>::infinity()) {
        // x - max would be -inf - -inf = NaN. The simd max skips NaNs, so a row of NaNs (and
        // -infs) lands here too: it stays NaN, never a quiet zero.
        const bool nan = std::any_of(x, x + C, [](T v) { return v != v; });
        std::fill(y, y + C, nan ? std::numeric_limits<T>::quiet_NaN() : T(0));
        return;
    }
    for (int64_t c = 0; c < C; ++c) y[c] = row_exp(x[c] - mx);
    T sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < C; ++c) sum += y[c];
    const T inv = T(1) / sum;
    for (int64_t c = 0; c < C; ++c) y[c] *= inv;
}

// dx[0, C) = y * (dy - <dy, y>), softmax's backward for one row; dx may alias dy.
template <typename T>
void softmax_bwd_row(const T* y, const T* dy, T* dx, int64_t C) {
    T dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t c = 0; c < C; ++c) dot += dy[c] * y[c];
    for (int64_t c = 0; c < C; ++c) dx[c] = y[c] * (dy[c] - dot);
}

}  // namespace vg::cpu
