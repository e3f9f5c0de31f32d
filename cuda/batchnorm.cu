// CUDA batch normalisation over [B, C, S], the same formulas as core/cpu/batchnorm.cpp: one block
// per channel for the statistics and the gradient sums (accumulated in double, reduced in a fixed
// order), and one thread per element for the normalisation and the input gradient.
#include "cuda/kernels.h"
#include "cuda/launch.cuh"
#include "cuda/reduce.cuh"

namespace vg::cuda {

namespace {

constexpr int kReduceBlock = 512;

// Block c: mean and biased variance of channel c over (B, S), two passes.
template <typename T>
__global__ void bn_stats_kernel(const T* x, int64_t B, int64_t C, int64_t S, T* mean, T* var) {
    const int64_t c = blockIdx.x, n = B * S;
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        s += double(x[((i / S) * C + c) * S + i % S]);
    const double mu = block_sum(s) / double(n);
    double q = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        double d = double(x[((i / S) * C + c) * S + i % S]) - mu;
        q += d * d;
    }
    q = block_sum(q);
    if (threadIdx.x == 0) {
        mean[c] = T(mu);
        var[c] = T(q / double(n));
    }
}

template <typename T>
__global__ void bn_fwd_kernel(const T* x, const T* mean, const T* rstd, const T* w, const T* b,
                              int64_t C, int64_t S, int64_t n, T* y) {
    VG_GRID_STRIDE_LOOP(e, n) {
        int64_t c = (e / S) % C;
        T scale = rstd[c] * (w ? w[c] : T(1));
        y[e] = (x[e] - mean[c]) * scale + (b ? b[c] : T(0));
    }
}

// Block c: sums[c] = (sum dy, sum dy * xhat) over (B, S); dw, db written when wanted.
template <typename T>
__global__ void bn_grad_sums_kernel(const T* x, const T* mean, const T* rstd, const T* dy,
                                    int64_t B, int64_t C, int64_t S, double* sums, T* dw, T* db) {
    const int64_t c = blockIdx.x, n = B * S;
    const double mu = double(mean[c]);
    double sg = 0, sgx = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        int64_t e = ((i / S) * C + c) * S + i % S;
        sg += double(dy[e]);
        sgx += double(dy[e]) * (double(x[e]) - mu);
    }
    sg = block_sum(sg);
    sgx = block_sum(sgx) * double(rstd[c]);
    if (threadIdx.x == 0) {
        sums[2 * c] = sg;
        sums[2 * c + 1] = sgx;
        if (dw) dw[c] = T(sgx);
        if (db) db[c] = T(sg);
    }
}

// dx = rstd w (dy - mean(dy) - xhat mean(dy xhat)) with batch statistics, rstd w dy without.
template <typename T>
__global__ void bn_dx_kernel(const T* x, const T* mean, const T* rstd, const T* w, const T* dy,
                             const double* sums, int64_t C, int64_t S, int64_t n, double inv_count,
                             T* dx) {
    VG_GRID_STRIDE_LOOP(e, n) {
        int64_t c = (e / S) % C;
        T k = rstd[c] * (w ? w[c] : T(1));
        if (!sums) {
            dx[e] = k * dy[e];
            continue;
        }
        T mg = T(sums[2 * c] * inv_count), mgx = T(sums[2 * c + 1] * inv_count);
        dx[e] = k * (dy[e] - mg - (x[e] - mean[c]) * rstd[c] * mgx);
    }
}

}  // namespace

void batchnorm_stats(const Tensor& x, Tensor& mean, Tensor& var) {
    const int64_t B = x.shape()[0], C = x.shape()[1], S = x.shape()[2];
    if (C == 0) return;
    dispatch_float(x.dtype(), "batch_norm", [&]<typename T>() {
        launch("batch_norm", "bn_stats_kernel", bn_stats_kernel<T>, unsigned(C), kReduceBlock, 0,
               x.device().index, dev_ptr<T>(x), B, C, S, dev_ptr<T>(mean), dev_ptr<T>(var));
    });
}

void batchnorm_fwd(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                   const Tensor& b, Tensor& y) {
    const int64_t C = x.shape()[1], S = x.shape()[2], n = x.numel();
    if (n == 0) return;
    dispatch_float(x.dtype(), "batch_norm", [&]<typename T>() {
        launch("batch_norm", "bn_fwd_kernel", bn_fwd_kernel<T>, grid_for(n), kBlock, 0,
               x.device().index, dev_ptr<T>(x), dev_ptr<T>(mean), dev_ptr<T>(rstd),
               w.defined() ? dev_ptr<T>(w) : nullptr, b.defined() ? dev_ptr<T>(b) : nullptr, C, S,
               n, dev_ptr<T>(y));
    });
}

void batchnorm_bwd(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                   const Tensor& dy, bool batch_stats, Tensor& dx, Tensor& dw, Tensor& db) {
    const int64_t B = x.shape()[0], C = x.shape()[1], S = x.shape()[2], n = x.numel();
    if (n == 0) return;
    const int dev = x.device().index;
    dispatch_float(x.dtype(), "batch_norm", [&]<typename T>() {
        Tensor sums;
        if (dw.defined() || db.defined() || (dx.defined() && batch_stats)) {
            sums = Tensor::empty({C, 2}, DType::F64, x.device());
            launch("batch_norm", "bn_grad_sums_kernel", bn_grad_sums_kernel<T>, unsigned(C),
                   kReduceBlock, 0, dev, dev_ptr<T>(x), dev_ptr<T>(mean), dev_ptr<T>(rstd),
                   dev_ptr<T>(dy), B, C, S, dev_ptr<double>(sums),
                   dw.defined() ? dev_ptr<T>(dw) : nullptr,
                   db.defined() ? dev_ptr<T>(db) : nullptr);
        }
        if (!dx.defined()) return;
        launch("batch_norm", "bn_dx_kernel", bn_dx_kernel<T>, grid_for(n), kBlock, 0, dev,
               dev_ptr<T>(x), dev_ptr<T>(mean), dev_ptr<T>(rstd),
               w.defined() ? dev_ptr<T>(w) : nullptr, dev_ptr<T>(dy),
               batch_stats ? dev_ptr<double>(sums) : nullptr, C, S, n, 1.0 / double(B * S),
               dev_ptr<T>(dx));
    });
}

}  // namespace vg::cuda
