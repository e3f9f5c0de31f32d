// CPU softmax / log-softmax over the rows of the last dim, stable by subtracting the row max;
// rows are split over the OpenMP pool. A fully masked row (every logit -inf) gives zeros (log:
// -inf) where PyTorch gives NaN.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "core/cpu/loops.h"
#include "core/cpu/softmax_row.h"
#include "core/kernels.h"

namespace vg::cpu {

namespace {
int64_t row_grain(int64_t C) {
    return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(C, 1));
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
                if (!log) {
                    softmax_row(xr, yr, C);
                    continue;
                }
                const std::optional<T> max =
                    row_max(xr, yr, C, -std::numeric_limits<T>::infinity());
                if (!max) continue;
                const T mx = *max;
                T sum = 0;
#pragma omp simd reduction(+ : sum)
                for (int64_t c = 0; c < C; ++c) sum += row_exp(xr[c] - mx);
                // (x - max) - log(sum), not x - (max + log(sum)): the latter rounds the
                // log-sum to the magnitude of the logits.
                T lsum = std::log(sum);
                for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mx) - lsum;
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
                if (!log) {
                    softmax_bwd_row(yr, gr, dr, C);
                    continue;
                }
                T dot = 0;
#pragma omp simd reduction(+ : dot)
                for (int64_t c = 0; c < C; ++c) dot += gr[c];
                for (int64_t c = 0; c < C; ++c) dr[c] = gr[c] - row_exp(yr[c]) * dot;
            }
        });
    });
}

}  // namespace vg::cpu
