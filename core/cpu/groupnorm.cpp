// CPU GroupNorm over [B, C, S]: the statistics of each (sample, group), which is one contiguous
// block of C / G * S elements, in two passes accumulated in double. The backward first sums dy and
// dy * (x - mean) over each (sample, channel) plane, then combines the planes of a group (for dx)
// or of a channel over the batch in order (for dw, db), so the result does not depend on the
// thread count. docs/derivations/groupnorm.md.
#include <algorithm>
#include <cmath>

#include "core/cpu/loops.h"
#include "core/cpu/norm_buffers.h"
#include "core/kernels.h"

namespace vg::cpu {

namespace {

struct Dims {
    int64_t B, C, S, G, Cg, M;  // M = Cg * S, the elements of one (sample, group)
};
Dims dims_of(const Tensor& x, int64_t groups) {
    const int64_t B = x.shape()[0], C = x.shape()[1], S = x.shape()[2];
    return {B, C, S, groups, C / groups, C / groups * S};
}

int64_t grain_for(int64_t per_item) {
    return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(per_item, 1));
}

}  // namespace

void groupnorm_fwd(const Tensor& x, const Tensor& w, const Tensor& b, int64_t groups, double eps,
                   Tensor& y, Tensor& mean, Tensor& rstd) {
    const Dims d = dims_of(x, groups);
    dispatch_float(x.dtype(), "group_norm", [&]<typename T>() {
        const auto [xs, ws, bs, ys, ms, rs] = norm_forward_buffers<T>(x, w, b, y, mean, rstd);
        parallel_for(d.B * d.G, grain_for(d.M), [&](int64_t rb, int64_t re) {
            for (int64_t r = rb; r < re; ++r) {
                const T* xr = xs + r * d.M;
                double mu = 0;
#pragma omp simd reduction(+ : mu)
                for (int64_t i = 0; i < d.M; ++i) mu += double(xr[i]);
                mu /= double(d.M);
                double var = 0;
#pragma omp simd reduction(+ : var)
                for (int64_t i = 0; i < d.M; ++i)
                    var += (double(xr[i]) - mu) * (double(xr[i]) - mu);
                var /= double(d.M);
                const T m = T(mu), inv = T(1.0 / std::sqrt(var + eps));
                ms[r] = m;
                rs[r] = inv;
                const int64_t c0 = (r % d.G) * d.Cg;
                for (int64_t c = 0; c < d.Cg; ++c) {
                    const T a = ws ? inv * ws[c0 + c] : inv, shift = bs ? bs[c0 + c] : T(0);
                    const T* xp = xr + c * d.S;
                    T* yp = ys + r * d.M + c * d.S;
                    for (int64_t s = 0; s < d.S; ++s) yp[s] = (xp[s] - m) * a + shift;
                }
            }
        });
    });
}

void groupnorm_bwd(const Tensor& x, const Tensor& w, const Tensor& mean, const Tensor& rstd,
                   const Tensor& dy, int64_t groups, Tensor& dx, Tensor& dw, Tensor& db) {
    const Dims d = dims_of(x, groups);
    // sums[2 p] = sum_s dy, sums[2 p + 1] = sum_s dy * (x - mean) of plane p = b * C + c.
    Tensor sums = Tensor::empty({d.B * d.C, 2}, DType::F64, Device::cpu());
    dispatch_float(x.dtype(), "group_norm", [&]<typename T>() {
        const T* xs = x.data<T>();
        const T* ws = w.defined() ? w.data<T>() : nullptr;
        const T* ms = mean.data<T>();
        const T* rs = rstd.data<T>();
        const T* gs = dy.data<T>();
        double* ps = sums.data<double>();
        parallel_for(d.B * d.C, grain_for(d.S), [&](int64_t pb, int64_t pe) {
            for (int64_t p = pb; p < pe; ++p) {
                const int64_t r = (p / d.C) * d.G + (p % d.C) / d.Cg;
                const double mu = double(ms[r]);
                const T* xp = xs + p * d.S;
                const T* gp = gs + p * d.S;
                double sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
                for (int64_t s = 0; s < d.S; ++s) {
                    sg += double(gp[s]);
                    sgx += double(gp[s]) * (double(xp[s]) - mu);
                }
                ps[2 * p] = sg;
                ps[2 * p + 1] = sgx;
            }
        });
        if (dw.defined() || db.defined()) {
            T* dws = dw.defined() ? dw.data<T>() : nullptr;
            T* dbs = db.defined() ? db.data<T>() : nullptr;
            for (int64_t c = 0; c < d.C; ++c) {
                double sw = 0, sb = 0;
                for (int64_t bi = 0; bi < d.B; ++bi) {
                    const int64_t p = bi * d.C + c, r = bi * d.G + c / d.Cg;
                    sw += double(rs[r]) * ps[2 * p + 1];
                    sb += ps[2 * p];
                }
                if (dws) dws[c] = T(sw);
                if (dbs) dbs[c] = T(sb);
            }
        }
        if (!dx.defined()) return;
        T* ds = dx.data<T>();
        parallel_for(d.B * d.G, grain_for(d.M), [&](int64_t rb, int64_t re) {
            for (int64_t r = rb; r < re; ++r) {
                const int64_t c0 = (r % d.G) * d.Cg, p0 = (r / d.G) * d.C + c0;
                const double inv = double(rs[r]);
                double sh = 0, shx = 0;  // sum of h and of h * (x - mean) over the group
                for (int64_t c = 0; c < d.Cg; ++c) {
                    const double wc = ws ? double(ws[c0 + c]) : 1.0;
                    sh += wc * ps[2 * (p0 + c)];
                    shx += wc * ps[2 * (p0 + c) + 1];
                }
                const T mean_h = T(sh / double(d.M));
                const T k = T(inv * inv * shx / double(d.M));  // mean(h * xhat) * rstd
                const T m = ms[r], rsr = rs[r];
                for (int64_t c = 0; c < d.Cg; ++c) {
                    const T wc = ws ? ws[c0 + c] : T(1);
                    const T* xp = xs + (p0 + c) * d.S;
                    const T* gp = gs + (p0 + c) * d.S;
                    T* dp = ds + (p0 + c) * d.S;
                    for (int64_t s = 0; s < d.S; ++s)
                        dp[s] = rsr * (gp[s] * wc - mean_h - (xp[s] - m) * k);
                }
            }
        });
    });
}

}  // namespace vg::cpu
