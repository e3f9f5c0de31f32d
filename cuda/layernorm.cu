// CUDA LayerNorm over the rows of the last dim: one warp per row for the forward and for dx
// (biased variance, two passes), and a two-stage column reduction for dw/db (per-split partial
// sums in double, then one ordered sum), so results do not depend on scheduling.
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace vg::cuda {

namespace {

constexpr int kRowsPerBlock = 8;    // forward / dx: one warp per row
constexpr int kColTile = 32;        // dw/db: columns per block (one per lane)
constexpr int kRowLanes = 8;        // dw/db: rows walked in parallel per block
constexpr int64_t kMaxSplits = 64;  // dw/db: row splits (partial sums), as on the CPU

template <typename T>
__global__ void layernorm_fwd_kernel(const T* x, const T* w, const T* b, T eps, T* y, T* mean,
                                     T* rstd, int64_t R, int64_t C) {
    int64_t r = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
    int lane = threadIdx.x % kWarp;
    if (r >= R) return;
    const T* xr = x + r * C;
    T* yr = y + r * C;
    T mu = 0;
    for (int64_t c = lane; c < C; c += kWarp) mu += xr[c];
    mu = warp_sum(mu) / T(C);
    T var = 0;
    for (int64_t c = lane; c < C; c += kWarp) var += (xr[c] - mu) * (xr[c] - mu);
    var = warp_sum(var) / T(C);
    T rs = T(1) / math::sqrt(var + eps);
    if (lane == 0) {
        mean[r] = mu;
        rstd[r] = rs;
    }
    for (int64_t c = lane; c < C; c += kWarp) {
        T v = (xr[c] - mu) * rs;
        if (w) v *= w[c];
        if (b) v += b[c];
        yr[c] = v;
    }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w, xhat = (x - mean) * rstd.
template <typename T>
__global__ void layernorm_dx_kernel(const T* x, const T* w, const T* mean, const T* rstd,
                                    const T* dy, T* dx, int64_t R, int64_t C) {
    int64_t r = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
    int lane = threadIdx.x % kWarp;
    if (r >= R) return;
    const T* xr = x + r * C;
    const T* gr = dy + r * C;
    T mu = mean[r], rs = rstd[r];
    T mean_g = 0, mean_gx = 0;
    for (int64_t c = lane; c < C; c += kWarp) {
        T g = w ? gr[c] * w[c] : gr[c];
        mean_g += g;
        mean_gx += g * (xr[c] - mu) * rs;
    }
    mean_g = warp_sum(mean_g) / T(C);
    mean_gx = warp_sum(mean_gx) / T(C);
    T* dr = dx + r * C;
    for (int64_t c = lane; c < C; c += kWarp) {
        T g = w ? gr[c] * w[c] : gr[c];
        dr[c] = rs * (g - mean_g - (xr[c] - mu) * rs * mean_gx);
    }
}

// partial[s, 0, c] = sum over split s of dy * xhat, partial[s, 1, c] = sum of dy.
// Block (kColTile, kRowLanes); grid (column tiles, splits).
template <typename T>
__global__ void layernorm_dwdb_partial_kernel(const T* x, const T* mean, const T* rstd, const T* dy,
                                              double* partial, int64_t R, int64_t C,
                                              int64_t per_split) {
    __shared__ double sw[kRowLanes][kColTile + 1], sb[kRowLanes][kColTile + 1];
    int64_t c = int64_t(blockIdx.x) * kColTile + threadIdx.x;
    int64_t s = blockIdx.y;
    int64_t r0 = s * per_split, r1 = r0 + per_split < R ? r0 + per_split : R;
    double aw = 0, ab = 0;
    if (c < C)
        for (int64_t r = r0 + threadIdx.y; r < r1; r += kRowLanes) {
            double g = double(dy[r * C + c]);
            aw += g * double((x[r * C + c] - mean[r]) * rstd[r]);
            ab += g;
        }
    sw[threadIdx.y][threadIdx.x] = aw;
    sb[threadIdx.y][threadIdx.x] = ab;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        for (int k = 1; k < kRowLanes; ++k) {
            aw += sw[k][threadIdx.x];
            ab += sb[k][threadIdx.x];
        }
        partial[(s * 2) * C + c] = aw;
        partial[(s * 2 + 1) * C + c] = ab;
    }
}

// dw[c] += sum_s partial[s, 0, c], db[c] += sum_s partial[s, 1, c] (either may be null).
template <typename T>
__global__ void layernorm_dwdb_final_kernel(const double* partial, int64_t splits, int64_t C, T* dw,
                                            T* db) {
    VG_GRID_STRIDE_LOOP(c, C) {
        double aw = 0, ab = 0;
        for (int64_t s = 0; s < splits; ++s) {
            aw += partial[(s * 2) * C + c];
            ab += partial[(s * 2 + 1) * C + c];
        }
        if (dw) dw[c] += T(aw);
        if (db) db[c] += T(ab);
    }
}

unsigned row_blocks(int64_t R) {
    int64_t b = ceil_div(R, kRowsPerBlock);
    VG_CHECK(b < (int64_t(1) << 31), "layer_norm", "too many rows ({}) for one launch", R);
    return unsigned(b);
}

}  // namespace

void layernorm_fwd(const Tensor& x, const Tensor& w, const Tensor& b, double eps, Tensor& y,
                   Tensor& mean, Tensor& rstd) {
    int64_t C = x.shape().back();
    int64_t R = C ? x.numel() / C : 0;
    if (R == 0) return;
    dispatch_float(x.dtype(), "layer_norm", [&]<typename T>() {
        launch("layer_norm", "layernorm_fwd_kernel", layernorm_fwd_kernel<T>, row_blocks(R),
               kRowsPerBlock * kWarp, 0, x.device().index, dev_ptr<T>(x),
               w.defined() ? dev_ptr<T>(w) : nullptr, b.defined() ? dev_ptr<T>(b) : nullptr, T(eps),
               dev_ptr<T>(y), dev_ptr<T>(mean), dev_ptr<T>(rstd), R, C);
    });
}

void layernorm_bwd(const Tensor& x, const Tensor& w, const Tensor& mean, const Tensor& rstd,
                   const Tensor& dy, Tensor& dx, Tensor& dw, Tensor& db) {
    int64_t C = x.shape().back();
    int64_t R = C ? x.numel() / C : 0;
    if (R == 0) return;
    int dev = x.device().index;
    dispatch_float(x.dtype(), "layer_norm", [&]<typename T>() {
        if (dx.defined())
            launch("layer_norm", "layernorm_dx_kernel", layernorm_dx_kernel<T>, row_blocks(R),
                   kRowsPerBlock * kWarp, 0, dev, dev_ptr<T>(x),
                   w.defined() ? dev_ptr<T>(w) : nullptr, dev_ptr<T>(mean), dev_ptr<T>(rstd),
                   dev_ptr<T>(dy), dev_ptr<T>(dx), R, C);
        if (!dw.defined() && !db.defined()) return;
        int64_t per_split = std::max<int64_t>(1, ceil_div(R, kMaxSplits));
        int64_t splits = ceil_div(R, per_split);
        Tensor partial = Tensor::empty({splits, 2, C}, DType::F64, x.device());
        dim3 grid(unsigned(ceil_div(C, kColTile)), unsigned(splits)), block(kColTile, kRowLanes);
        launch("layer_norm", "layernorm_dwdb_partial_kernel", layernorm_dwdb_partial_kernel<T>,
               grid, block, 0, dev, dev_ptr<T>(x), dev_ptr<T>(mean), dev_ptr<T>(rstd),
               dev_ptr<T>(dy), dev_ptr<double>(partial), R, C, per_split);
        launch("layer_norm", "layernorm_dwdb_final_kernel", layernorm_dwdb_final_kernel<T>,
               grid_for(C), kBlock, 0, dev, dev_ptr<double>(partial), splits, C,
               dw.defined() ? dev_ptr<T>(dw) : nullptr, db.defined() ? dev_ptr<T>(db) : nullptr);
    });
}

}  // namespace vg::cuda
