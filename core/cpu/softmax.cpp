// CPU softmax / log-softmax over the rows of the last dim, stable by subtracting the row max;
// rows are split over the OpenMP pool. A fully masked row (every logit -inf) gives zeros (log:
// -inf) where PyTorch gives NaN.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

namespace {
int64_t row_grain(int64_t C) {
    return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(C, 1));
}
// float rows use the vectorisable exp of core/math.h (libm's expf is scalar); double keeps libm.
template <typename T>
T row_exp(T x) {
    if constexpr (sizeof(T) == 4) return math::exp_approx(x);
    return std::exp(x);
}
}  // namespace

void softmax_fwd(const Tensor& x, Tensor& y, bool log) {
    int64_t C = x.dim() ? x.shape().back() : 1;
    int64_t R = C ? x.numel() / C : 0;
    dispatch_float(x.dtype(), log ? "log_softmax" : "softmax", [&]<typename T>() {
        const T* xs = x.data<T>();
        T* ys = y.data<T>();
        parallel_for(R, row_grain(C), [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) {
                const T* xr = xs + r * C;
                T* yr = ys + r * C;
                // simd reductions: max is exact in any order; the sums reassociate (a fixed
                // order per build, independent of the thread count).
                T mx = xr[0];
#pragma omp simd reduction(max : mx)
                for (int64_t c = 1; c < C; ++c) mx = xr[c] > mx ? xr[c] : mx;
                if (mx == -std::numeric_limits<T>::infinity()) {
                    // Every logit masked: no probability mass to share. Zeros (log: -inf), where
                    // x - max would be -inf - -inf = NaN. The simd max skips NaNs, so a row of
                    // NaNs (and -infs) lands here too: it stays NaN, never a quiet zero.
                    const bool nan = std::any_of(xr, xr + C, [](T v) { return v != v; });
                    std::fill(yr, yr + C,
                              nan ? std::numeric_limits<T>::quiet_NaN() : (log ? mx : T(0)));
                    continue;
                }
                T sum = 0;
                if (log) {
#pragma omp simd reduction(+ : sum)
                    for (int64_t c = 0; c < C; ++c) sum += row_exp(xr[c] - mx);
                    // (x - max) - log(sum), not x - (max + log(sum)): the latter rounds the
                    // log-sum to the magnitude of the logits.
                    T lsum = std::log(sum);
                    for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mx) - lsum;
                } else {
                    for (int64_t c = 0; c < C; ++c) yr[c] = row_exp(xr[c] - mx);
#pragma omp simd reduction(+ : sum)
                    for (int64_t c = 0; c < C; ++c) sum += yr[c];
                    T inv = T(1) / sum;
                    for (int64_t c = 0; c < C; ++c) yr[c] *= inv;
                }
            }
        });
    });
}

// softmax:     dx = y * (dy - sum(dy * y))
// log_softmax: dx = dy - exp(y) * sum(dy)        (docs/derivations/softmax.md)
void softmax_bwd(const Tensor& y, const Tensor& dy, Tensor& dx, bool log) {
    int64_t C = y.dim() ? y.shape().back() : 1;
    int64_t R = C ? y.numel() / C : 0;
    dispatch_float(y.dtype(), log ? "log_softmax" : "softmax", [&]<typename T>() {
        const T* ys = y.data<T>();
        const T* gs = dy.data<T>();
        T* ds = dx.data<T>();
        parallel_for(R, row_grain(C), [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) {
                const T* yr = ys + r * C;
                const T* gr = gs + r * C;
                T* dr = ds + r * C;
                T dot = 0;
                if (log) {
#pragma omp simd reduction(+ : dot)
                    for (int64_t c = 0; c < C; ++c) dot += gr[c];
                    for (int64_t c = 0; c < C; ++c) dr[c] = gr[c] - row_exp(yr[c]) * dot;
                } else {
#pragma omp simd reduction(+ : dot)
                    for (int64_t c = 0; c < C; ++c) dot += gr[c] * yr[c];
                    for (int64_t c = 0; c < C; ++c) dr[c] = yr[c] * (gr[c] - dot);
                }
            }
        });
    });
}

}  // namespace vg::cpu
