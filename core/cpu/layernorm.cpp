// CPU LayerNorm over the rows of the last dim (biased variance, two passes for stability). The
// backward's weight/bias gradients are summed per fixed block of rows and the blocks combined in
// order, so the result is race-free and independent of the thread count.
#include <cmath>
#include <vector>

#include "core/cpu/loops.h"
#include "core/cpu/norm_buffers.h"
#include "core/kernels.h"

namespace vg::cpu {

namespace {
int64_t row_grain(int64_t C) {
    return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(C, 1));
}
constexpr int64_t kMaxBlocks = 64;  // partial dw/db rows: enough parallelism, little memory
}  // namespace

void layernorm_fwd(const Tensor& x, const Tensor& w, const Tensor& b, double eps, Tensor& y,
                   Tensor& mean, Tensor& rstd) {
    int64_t C = x.shape().back();
    int64_t R = C ? x.numel() / C : 0;
    dispatch_float(x.dtype(), "layer_norm", [&]<typename T>() {
        const auto [xs, ws, bs, ys, ms, rs] = norm_forward_buffers<T>(x, w, b, y, mean, rstd);
        parallel_for(R, row_grain(C), [&](int64_t rb, int64_t re) {
            for (int64_t r = rb; r < re; ++r) {
                const T* xr = xs + r * C;
                T* yr = ys + r * C;
                // simd reductions: a strict left-to-right sum cannot vectorise and made this
                // forward half as fast as the backward.
                T mu = 0;
#pragma omp simd reduction(+ : mu)
                for (int64_t c = 0; c < C; ++c) mu += xr[c];
                mu /= T(C);
                T var = 0;
#pragma omp simd reduction(+ : var)
                for (int64_t c = 0; c < C; ++c) var += (xr[c] - mu) * (xr[c] - mu);
                var /= T(C);
                T rs_r = T(1) / std::sqrt(var + T(eps));
                ms[r] = mu;
                rs[r] = rs_r;
                for (int64_t c = 0; c < C; ++c) {
                    T v = (xr[c] - mu) * rs_r;
                    if (ws) v *= ws[c];
                    if (bs) v += bs[c];
                    yr[c] = v;
                }
            }
        });
    });
}

// With xhat = (x - mean) * rstd and g = dy * w (docs/derivations/layernorm.md):
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  dw += sum_rows dy * xhat,  db += sum_rows
//   dy.
void layernorm_bwd(const Tensor& x, const Tensor& w, const Tensor& mean, const Tensor& rstd,
                   const Tensor& dy, Tensor& dx, Tensor& dw, Tensor& db) {
    int64_t C = x.shape().back();
    int64_t R = C ? x.numel() / C : 0;
    bool params = dw.defined() || db.defined();
    int64_t per_block = std::max<int64_t>(1, (R + kMaxBlocks - 1) / kMaxBlocks);
    int64_t blocks = (R + per_block - 1) / per_block;
    dispatch_float(x.dtype(), "layer_norm", [&]<typename T>() {
        const T* xs = x.data<T>();
        const T* ws = w.defined() ? w.data<T>() : nullptr;
        const T* ms = mean.data<T>();
        const T* rs = rstd.data<T>();
        const T* gs = dy.data<T>();
        T* ds = dx.defined() ? dx.data<T>() : nullptr;
        // partial[k] holds block k's sums: dw in [0, C), db in [C, 2C).
        std::vector<double> partial(params ? size_t(blocks * 2 * C) : 0, 0.0);
        parallel_for(blocks, 1, [&](int64_t kb, int64_t ke) {
            std::vector<T> g(static_cast<size_t>(C));
            for (int64_t k = kb; k < ke; ++k) {
                double* pw = params ? partial.data() + k * 2 * C : nullptr;
                int64_t r1 = std::min(R, (k + 1) * per_block);
                for (int64_t r = k * per_block; r < r1; ++r) {
                    const T* xr = xs + r * C;
                    const T* gr = gs + r * C;
                    T mu = ms[r], rs_r = rs[r];
                    if (pw)
                        for (int64_t c = 0; c < C; ++c) {
                            pw[c] += double(gr[c]) * double((xr[c] - mu) * rs_r);
                            pw[C + c] += double(gr[c]);
                        }
                    if (!ds) continue;
                    for (int64_t c = 0; c < C; ++c) g[c] = ws ? gr[c] * ws[c] : gr[c];
                    // Separate simd reductions: the sequential sums were latency-bound.
                    T mean_g = 0, mean_gx = 0;
#pragma omp simd reduction(+ : mean_g)
                    for (int64_t c = 0; c < C; ++c) mean_g += g[c];
#pragma omp simd reduction(+ : mean_gx)
                    for (int64_t c = 0; c < C; ++c) mean_gx += g[c] * (xr[c] - mu) * rs_r;
                    mean_g /= T(C);
                    mean_gx /= T(C);
                    T* dr = ds + r * C;
                    for (int64_t c = 0; c < C; ++c)
                        dr[c] = rs_r * (g[c] - mean_g - (xr[c] - mu) * rs_r * mean_gx);
                }
            }
        });
        if (!params) return;
        T* dws = dw.defined() ? dw.data<T>() : nullptr;
        T* dbs = db.defined() ? db.data<T>() : nullptr;
        for (int64_t c = 0; c < C; ++c) {
            double sw = 0, sb = 0;
            for (int64_t k = 0; k < blocks; ++k) {
                sw += partial[size_t(k * 2 * C + c)];
                sb += partial[size_t(k * 2 * C + C + c)];
            }
            if (dws) dws[c] += T(sw);
            if (dbs) dbs[c] += T(sb);
        }
    });
}

}  // namespace vg::cpu
