// CUDA GroupNorm over [B, C, S], the same formulas as core/cpu/groupnorm.cpp: one block per
// (sample, group) for the statistics and one per (sample, channel) plane for the gradient sums,
// accumulated in double and reduced in a fixed order; the per-channel and per-group combinations
// walk their planes in order, and the elementwise passes run one thread per element.
#include "cuda/kernels.h"
#include "cuda/launch.cuh"
#include "cuda/reduce.cuh"

namespace vg::cuda {

namespace {

constexpr int kReduceBlock = 256;

// Block r = b * G + g: mean and 1 / sqrt(biased var + eps) of its M contiguous elements.
template <typename T>
__global__ void gn_stats_kernel(const T* x, int64_t M, double eps, T* mean, T* rstd) {
    const int64_t r = blockIdx.x;
    const T* xr = x + r * M;
    double s = 0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) s += double(xr[i]);
    const double mu = block_sum(s) / double(M);
    double q = 0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
        double dv = double(xr[i]) - mu;
        q += dv * dv;
    }
    q = block_sum(q) / double(M);
    if (threadIdx.x == 0) {
        mean[r] = T(mu);
        rstd[r] = T(1.0 / sqrt(q + eps));
    }
}

template <typename T>
__global__ void gn_fwd_kernel(const T* x, const T* mean, const T* rstd, const T* w, const T* b,
                              int64_t C, int64_t S, int64_t G, int64_t n, T* y) {
    VG_GRID_STRIDE_LOOP(e, n) {
        const int64_t c = (e / S) % C, r = (e / (S * C)) * G + c / (C / G);
        const T a = w ? rstd[r] * w[c] : rstd[r];
        y[e] = (x[e] - mean[r]) * a + (b ? b[c] : T(0));
    }
}

// Block p = b * C + c: sums[2 p] = sum_s dy, sums[2 p + 1] = sum_s dy * (x - mean).
template <typename T>
__global__ void gn_plane_sums_kernel(const T* x, const T* mean, const T* dy, int64_t C, int64_t S,
                                     int64_t G, double* sums) {
    const int64_t p = blockIdx.x, r = (p / C) * G + (p % C) / (C / G);
    const double mu = double(mean[r]);
    double sg = 0, sgx = 0;
    for (int64_t s = threadIdx.x; s < S; s += blockDim.x) {
        const double g = double(dy[p * S + s]);
        sg += g;
        sgx += g * (double(x[p * S + s]) - mu);
    }
    sg = block_sum(sg);
    sgx = block_sum(sgx);
    if (threadIdx.x == 0) {
        sums[2 * p] = sg;
        sums[2 * p + 1] = sgx;
    }
}

// dw[c] = sum_b rstd * sums[2 p + 1], db[c] = sum_b sums[2 p], batch in order (either may be null).
template <typename T>
__global__ void gn_param_grad_kernel(const double* sums, const T* rstd, int64_t B, int64_t C,
                                     int64_t G, T* dw, T* db) {
    VG_GRID_STRIDE_LOOP(c, C) {
        double sw = 0, sb = 0;
        for (int64_t b = 0; b < B; ++b) {
            const int64_t p = b * C + c, r = b * G + c / (C / G);
            sw += double(rstd[r]) * sums[2 * p + 1];
            sb += sums[2 * p];
        }
        if (dw) dw[c] = T(sw);
        if (db) db[c] = T(sb);
    }
}

// coef[2 r] = mean(h), coef[2 r + 1] = rstd^2 * mean(h * (x - mean)) over group r, h = dy * w.
template <typename T>
__global__ void gn_group_coef_kernel(const double* sums, const T* rstd, const T* w, int64_t C,
                                     int64_t S, int64_t G, int64_t R, double* coef) {
    VG_GRID_STRIDE_LOOP(r, R) {
        const int64_t Cg = C / G, c0 = (r % G) * Cg, p0 = (r / G) * C + c0;
        double sh = 0, shx = 0;
        for (int64_t c = 0; c < Cg; ++c) {
            const double wc = w ? double(w[c0 + c]) : 1.0;
            sh += wc * sums[2 * (p0 + c)];
            shx += wc * sums[2 * (p0 + c) + 1];
        }
        const double inv = double(rstd[r]), M = double(Cg * S);
        coef[2 * r] = sh / M;
        coef[2 * r + 1] = inv * inv * shx / M;
    }
}

template <typename T>
__global__ void gn_dx_kernel(const T* x, const T* mean, const T* rstd, const T* w, const T* dy,
                             const double* coef, int64_t C, int64_t S, int64_t G, int64_t n,
                             T* dx) {
    VG_GRID_STRIDE_LOOP(e, n) {
        const int64_t c = (e / S) % C, r = (e / (S * C)) * G + c / (C / G);
        const T h = w ? dy[e] * w[c] : dy[e];
        dx[e] = rstd[r] * (h - T(coef[2 * r]) - (x[e] - mean[r]) * T(coef[2 * r + 1]));
    }
}

unsigned blocks_for(int64_t n) {
    VG_CHECK(n < (int64_t(1) << 31), "group_norm", "too many rows ({}) for one launch", n);
    return unsigned(n);
}

}  // namespace

void groupnorm_fwd(const Tensor& x, const Tensor& w, const Tensor& b, int64_t groups, double eps,
                   Tensor& y, Tensor& mean, Tensor& rstd) {
    const int64_t B = x.shape()[0], C = x.shape()[1], S = x.shape()[2], n = x.numel();
    if (n == 0) return;
    const int dev = x.device().index;
    dispatch_float(x.dtype(), "group_norm", [&]<typename T>() {
        launch("group_norm", "gn_stats_kernel", gn_stats_kernel<T>, blocks_for(B * groups),
               kReduceBlock, 0, dev, dev_ptr<T>(x), C / groups * S, eps, dev_ptr<T>(mean),
               dev_ptr<T>(rstd));
        launch("group_norm", "gn_fwd_kernel", gn_fwd_kernel<T>, grid_for(n), kBlock, 0, dev,
               dev_ptr<T>(x), dev_ptr<T>(mean), dev_ptr<T>(rstd),
               w.defined() ? dev_ptr<T>(w) : nullptr, b.defined() ? dev_ptr<T>(b) : nullptr, C, S,
               groups, n, dev_ptr<T>(y));
    });
}

void groupnorm_bwd(const Tensor& x, const Tensor& w, const Tensor& mean, const Tensor& rstd,
                   const Tensor& dy, int64_t groups, Tensor& dx, Tensor& dw, Tensor& db) {
    const int64_t B = x.shape()[0], C = x.shape()[1], S = x.shape()[2], n = x.numel();
    if (n == 0) return;
    const int dev = x.device().index;
    Tensor sums = Tensor::empty({B * C, 2}, DType::F64, x.device());
    dispatch_float(x.dtype(), "group_norm", [&]<typename T>() {
        const T* wp = w.defined() ? dev_ptr<T>(w) : nullptr;
        launch("group_norm", "gn_plane_sums_kernel", gn_plane_sums_kernel<T>, blocks_for(B * C),
               kReduceBlock, 0, dev, dev_ptr<T>(x), dev_ptr<T>(mean), dev_ptr<T>(dy), C, S, groups,
               dev_ptr<double>(sums));
        if (dw.defined() || db.defined())
            launch("group_norm", "gn_param_grad_kernel", gn_param_grad_kernel<T>, grid_for(C),
                   kBlock, 0, dev, dev_ptr<double>(sums), dev_ptr<T>(rstd), B, C, groups,
                   dw.defined() ? dev_ptr<T>(dw) : nullptr,
                   db.defined() ? dev_ptr<T>(db) : nullptr);
        if (!dx.defined()) return;
        const int64_t R = B * groups;
        Tensor coef = Tensor::empty({R, 2}, DType::F64, x.device());
        launch("group_norm", "gn_group_coef_kernel", gn_group_coef_kernel<T>, grid_for(R), kBlock,
               0, dev, dev_ptr<double>(sums), dev_ptr<T>(rstd), wp, C, S, groups, R,
               dev_ptr<double>(coef));
        launch("group_norm", "gn_dx_kernel", gn_dx_kernel<T>, grid_for(n), kBlock, 0, dev,
               dev_ptr<T>(x), dev_ptr<T>(mean), dev_ptr<T>(rstd), wp, dev_ptr<T>(dy),
               dev_ptr<double>(coef), C, S, groups, n, dev_ptr<T>(dx));
    });
}

}  // namespace vg::cuda
