// CUDA reductions over the middle axis of a contiguous [O, R, I] view: one block per output row
// when I == 1 (sums over the last dims), otherwise one thread per output column, reading rows of
// I so neighbouring threads read neighbouring addresses. Few outputs over many rows (bias
// gradients: [B*N, C] -> [C]) also split the rows, then add the per-split sums in order.
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace vg::cuda {

namespace {

constexpr int kRowBlock = 256;
constexpr int kColTile = 32;            // split path: columns per block (one per lane)
constexpr int kRowLanes = 8;            // split path: rows walked in parallel per block
constexpr int64_t kRowsPerSplit = 256;  // split path: rows per split, at least
constexpr int64_t kMaxSplits = 64;
constexpr int64_t kSplitOutputs = 8192;  // split path only below this many outputs (O * I)

// y[o] = sum_r x[o, r]
template <typename T>
__global__ void sum_rows_kernel(const T* x, int64_t R, T* y) {
    const T* row = x + int64_t(blockIdx.x) * R;
    T acc = 0;
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) acc += row[r];
    acc = block_sum(acc);
    if (threadIdx.x == 0) y[blockIdx.x] = acc;
}

// y[o, i] = sum_r x[o, r, i]
template <typename T>
__global__ void sum_cols_kernel(const T* x, int64_t O, int64_t R, int64_t I, T* y) {
    VG_GRID_STRIDE_LOOP(c, O * I) {
        int64_t o = c / I, i = c - o * I;
        const T* p = x + o * R * I + i;
        T acc = 0;
        for (int64_t r = 0; r < R; ++r) acc += p[r * I];
        y[c] = acc;
    }
}

// partial[s, o, i] = sum of x[o, r, i] over the rows r of split s.
// Block (kColTile, kRowLanes); grid (column tiles, O, splits).
template <typename T>
__global__ void sum_split_kernel(const T* x, int64_t R, int64_t I, int64_t per_split, T* partial) {
    __shared__ T tile[kRowLanes][kColTile + 1];
    int64_t i = int64_t(blockIdx.x) * kColTile + threadIdx.x;
    int64_t o = blockIdx.y, s = blockIdx.z, O = gridDim.y;
    int64_t r0 = s * per_split, r1 = r0 + per_split < R ? r0 + per_split : R;
    T acc = 0;
    if (i < I)
        for (int64_t r = r0 + threadIdx.y; r < r1; r += kRowLanes) acc += x[(o * R + r) * I + i];
    tile[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && i < I) {
        for (int k = 1; k < kRowLanes; ++k) acc += tile[k][threadIdx.x];
        partial[(s * O + o) * I + i] = acc;
    }
}

// y[c] = sum_s partial[s, c] for the n = O * I outputs, in split order.
template <typename T>
__global__ void sum_splits_kernel(const T* partial, int64_t splits, int64_t n, T* y) {
    VG_GRID_STRIDE_LOOP(c, n) {
        T acc = 0;
        for (int64_t s = 0; s < splits; ++s) acc += partial[s * n + c];
        y[c] = acc;
    }
}

// values[o, i] = max_r x[o, r, i], indices = first argmax; NaN wins, as on the CPU.
template <typename T>
__global__ void max_cols_kernel(const T* x, int64_t O, int64_t R, int64_t I, T* values,
                                int64_t* indices) {
    VG_GRID_STRIDE_LOOP(c, O * I) {
        int64_t o = c / I, i = c - o * I;
        const T* p = x + o * R * I + i;
        T best = p[0];
        int64_t arg = 0;
        for (int64_t r = 1; r < R; ++r) {
            T v = p[r * I];
            if (v > best || (v != v && best == best)) {
                best = v;
                arg = r;
            }
        }
        values[c] = best;
        indices[c] = arg;
    }
}

}  // namespace

void sum_mid(const Tensor& x, int64_t O, int64_t R, int64_t I, Tensor& y) {
    if (O * I == 0) return;
    if (R == 0) {
        fill(y, 0.0);
        return;
    }
    int dev = x.device().index;
    dispatch_float(x.dtype(), "sum", [&]<typename T>() {
        // A block per row pays off only when the row is long; grids are limited to 2^31-1 blocks.
        if (I == 1 && R >= kRowBlock && O < (int64_t(1) << 31)) {
            launch("sum", "sum_rows_kernel", sum_rows_kernel<T>, unsigned(O), kRowBlock, 0, dev,
                   dev_ptr<T>(x), R, dev_ptr<T>(y));
        } else if (O * I <= kSplitOutputs && R >= 2 * kRowsPerSplit) {
            int64_t splits = std::min(kMaxSplits, ceil_div(R, kRowsPerSplit));
            int64_t per_split = ceil_div(R, splits);
            splits = ceil_div(R, per_split);
            Tensor partial = Tensor::empty({splits, O, I}, x.dtype(), x.device());
            dim3 grid(unsigned(ceil_div(I, kColTile)), unsigned(O), unsigned(splits));
            launch("sum", "sum_split_kernel", sum_split_kernel<T>, grid, dim3(kColTile, kRowLanes),
                   0, dev, dev_ptr<T>(x), R, I, per_split, dev_ptr<T>(partial));
            launch("sum", "sum_splits_kernel", sum_splits_kernel<T>, grid_for(O * I), kBlock, 0,
                   dev, dev_ptr<T>(partial), splits, O * I, dev_ptr<T>(y));
        } else {
            launch("sum", "sum_cols_kernel", sum_cols_kernel<T>, grid_for(O * I), kBlock, 0, dev,
                   dev_ptr<T>(x), O, R, I, dev_ptr<T>(y));
        }
    });
}

void max_mid(const Tensor& x, int64_t O, int64_t R, int64_t I, Tensor& values, Tensor& indices) {
    if (O * I == 0) return;
    VG_CHECK(R > 0, "max", "cannot reduce an empty dimension of {}", x.desc());
    int dev = x.device().index;
    dispatch_float(x.dtype(), "max", [&]<typename T>() {
        launch("max", "max_cols_kernel", max_cols_kernel<T>, grid_for(O * I), kBlock, 0, dev,
               dev_ptr<T>(x), O, R, I, dev_ptr<T>(values), dev_ptr<int64_t>(indices));
    });
}

}  // namespace vg::cuda
