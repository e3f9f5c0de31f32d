// One softmax row, shared by the softmax kernel and the fused attention so that both give the
// same numbers: stable (the row max subtracted), float through the vectorisable exp of
// core/math.h (libm's expf is scalar), double through libm.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "core/math.h"

namespace vg::cpu {

template <typename T>
T row_exp(T x) {
    if constexpr (sizeof(T) == 4) return math::exp_approx(x);
    return std::exp(x);
}

// The max of x[0, C), or nothing after filling y[0, C) with `masked` where it is -inf: every logit
// masked, where x - max would be -inf - -inf = NaN. The simd max skips NaNs, so a row of NaNs (and
// -infs) lands there too and is filled with NaN, never a quiet value. The max is exact in any
// order, so the simd reduction changes no bit.
template <typename T>
std::optional<T> row_max(const T* x, T* y, int64_t C, T masked) {
    T mx = x[0];
#pragma omp simd reduction(max : mx)
    for (int64_t c = 1; c < C; ++c) mx = x[c] > mx ? x[c] : mx;
    if (mx != -std::numeric_limits<T>::infinity()) return mx;
    const bool nan = std::any_of(x, x + C, [](T v) { return v != v; });
    std::fill(y, y + C, nan ? std::numeric_limits<T>::quiet_NaN() : masked);
    return std::nullopt;
}

// y[0, C) = softmax(x[0, C)); x and y may be the same row. A fully masked row (every logit -inf)
// gives zeros where PyTorch gives NaN; a row holding NaN stays NaN. The sum reassociates (a fixed
// order per build, independent of the thread count).
template <typename T>
void softmax_row(const T* x, T* y, int64_t C) {
    const std::optional<T> max = row_max(x, y, C, T(0));
    if (!max) return;
    const T mx = *max;
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
