// CPU batch normalisation over [B, C, S]: per-channel statistics over (B, S). Channel sums are
// split into (channel, batch chunk) tasks, summed in double and combined in a fixed order, so the
// results do not depend on the thread count; the elementwise passes run one (b, c) plane per task.
#include <algorithm>
#include <vector>

#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

namespace {

constexpr int64_t kTasks = 64;  // (channel, chunk) tasks per reduction, from the shape only

struct Dims {
    int64_t B, C, S;
};
Dims dims_of(const Tensor& x) { return {x.shape()[0], x.shape()[1], x.shape()[2]}; }

// Calls f(b, c, plane) for every (b, c) plane of a [B, C, S] tensor across the pool.
template <typename F>
void for_each_plane(const Dims& d, F&& f) {
    parallel_for(d.B * d.C, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(d.S, 1)),
                 [&](int64_t pb, int64_t pe) {
                     for (int64_t p = pb; p < pe; ++p) f(p / d.C, p % d.C, p);
                 });
}

// out[c * n + i] = sum over (b, s) of row_sums(b, c)[i] for i < n (n <= 2), where row_sums
// returns the sums over one (b, c) row. Chunks of the batch are summed in parallel and combined
// in order.
template <int N, typename F>
void channel_sums(const Dims& d, F&& row_sums, std::vector<double>& out) {
    const int64_t chunks = std::clamp<int64_t>(kTasks / std::max<int64_t>(d.C, 1), 1, d.B);
    const int64_t per = (d.B + chunks - 1) / chunks;
    std::vector<double> partial(size_t(chunks * d.C * N), 0.0);
    parallel_for(chunks * d.C, 1, [&](int64_t tb, int64_t te) {
        for (int64_t t = tb; t < te; ++t) {
            const int64_t chunk = t / d.C, c = t % d.C;
            double acc[N] = {};
            for (int64_t b = chunk * per; b < std::min(d.B, (chunk + 1) * per); ++b) {
                auto s = row_sums(b, c);
                for (int i = 0; i < N; ++i) acc[i] += s[i];
            }
            for (int i = 0; i < N; ++i) partial[size_t(t * N + i)] = acc[i];
        }
    });
    out.assign(size_t(d.C * N), 0.0);
    for (int64_t chunk = 0; chunk < chunks; ++chunk)
        for (int64_t c = 0; c < d.C; ++c)
            for (int i = 0; i < N; ++i)
                out[size_t(c * N + i)] += partial[size_t((chunk * d.C + c) * N + i)];
}

}  // namespace

// Two passes (mean, then squared deviations), both accumulated in double.
void batchnorm_stats(const Tensor& x, Tensor& mean, Tensor& var) {
    const Dims d = dims_of(x);
    const double n = double(d.B * d.S);
    dispatch_float(x.dtype(), "batch_norm", [&]<typename T>() {
        const T* xs = x.data<T>();
        std::vector<double> sums, mu(size_t(d.C));
        channel_sums<1>(
            d,
            [&](int64_t b, int64_t c) {
                const T* r = xs + (b * d.C + c) * d.S;
                double s = 0;
#pragma omp simd reduction(+ : s)
                for (int64_t i = 0; i < d.S; ++i) s += double(r[i]);
                return std::array<double, 1>{s};
            },
            sums);
        for (int64_t c = 0; c < d.C; ++c) mu[size_t(c)] = sums[size_t(c)] / n;
        channel_sums<1>(
            d,
            [&](int64_t b, int64_t c) {
                const T* r = xs + (b * d.C + c) * d.S;
                const double m = mu[size_t(c)];
                double s = 0;
#pragma omp simd reduction(+ : s)
                for (int64_t i = 0; i < d.S; ++i) s += (double(r[i]) - m) * (double(r[i]) - m);
                return std::array<double, 1>{s};
            },
            sums);
        T* ms = mean.data<T>();
        T* vs = var.data<T>();
        for (int64_t c = 0; c < d.C; ++c) {
            ms[c] = T(mu[size_t(c)]);
            vs[c] = T(sums[size_t(c)] / n);
        }
    });
}

void batchnorm_fwd(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                   const Tensor& b, Tensor& y) {
    const Dims d = dims_of(x);
    dispatch_float(x.dtype(), "batch_norm", [&]<typename T>() {
        const T* xs = x.data<T>();
        const T *ms = mean.data<T>(), *rs = rstd.data<T>();
        const T* ws = w.defined() ? w.data<T>() : nullptr;
        const T* bs = b.defined() ? b.data<T>() : nullptr;
        T* ys = y.data<T>();
        for_each_plane(d, [&](int64_t, int64_t c, int64_t p) {
            // y = x * scale + shift with scale = rstd * w, shift = b - mean * scale.
            const T scale = rs[c] * (ws ? ws[c] : T(1));
            const T shift = (bs ? bs[c] : T(0)) - ms[c] * scale;
            const T* xr = xs + p * d.S;
            T* yr = ys + p * d.S;
#pragma omp simd
            for (int64_t i = 0; i < d.S; ++i) yr[i] = xr[i] * scale + shift;
        });
    });
}

void batchnorm_bwd(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                   const Tensor& dy, bool batch_stats, Tensor& dx, Tensor& dw, Tensor& db) {
    const Dims d = dims_of(x);
    const double n = double(d.B * d.S);
    dispatch_float(x.dtype(), "batch_norm", [&]<typename T>() {
        const T* xs = x.data<T>();
        const T* gs = dy.data<T>();
        const T *ms = mean.data<T>(), *rs = rstd.data<T>();
        const T* ws = w.defined() ? w.data<T>() : nullptr;
        std::vector<double> sums;  // per channel: sum dy, sum dy * xhat
        const bool need_sums = dw.defined() || db.defined() || (dx.defined() && batch_stats);
        if (need_sums)
            channel_sums<2>(
                d,
                [&](int64_t b, int64_t c) {
                    const T* xr = xs + (b * d.C + c) * d.S;
                    const T* gr = gs + (b * d.C + c) * d.S;
                    const double m = double(ms[c]);
                    double sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
                    for (int64_t i = 0; i < d.S; ++i) {
                        sg += double(gr[i]);
                        sgx += double(gr[i]) * (double(xr[i]) - m);
                    }
                    return std::array<double, 2>{sg, sgx * double(rs[c])};
                },
                sums);
        if (dw.defined()) {
            T* dws = dw.data<T>();
            for (int64_t c = 0; c < d.C; ++c) dws[c] = T(sums[size_t(2 * c + 1)]);
        }
        if (db.defined()) {
            T* dbs = db.data<T>();
            for (int64_t c = 0; c < d.C; ++c) dbs[c] = T(sums[size_t(2 * c)]);
        }
        if (!dx.defined()) return;
        T* ds = dx.data<T>();
        for_each_plane(d, [&](int64_t, int64_t c, int64_t p) {
            const T k = rs[c] * (ws ? ws[c] : T(1));
            const T* gr = gs + p * d.S;
            T* dr = ds + p * d.S;
            if (!batch_stats) {
#pragma omp simd
                for (int64_t i = 0; i < d.S; ++i) dr[i] = k * gr[i];
                return;
            }
            // dx = k (dy - mean(dy) - xhat mean(dy xhat)), xhat = (x - mean) rstd.
            const T mg = T(sums[size_t(2 * c)] / n), mgx = T(sums[size_t(2 * c + 1)] / n);
            const T mu = ms[c], r = rs[c];
            const T* xr = xs + p * d.S;
#pragma omp simd
            for (int64_t i = 0; i < d.S; ++i) dr[i] = k * (gr[i] - mg - (xr[i] - mu) * r * mgx);
        });
    });
}

}  // namespace vg::cpu
