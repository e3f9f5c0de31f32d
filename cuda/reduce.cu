// CUDA reductions over the middle axis of a contiguous [O, R, I] view: one block per output row
// when I == 1 (sums over the last dims), otherwise one thread per output column, reading rows of
// I so neighbouring threads read neighbouring addresses.
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace vg::cuda {

namespace {

constexpr int kRowBlock = 256;

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
        if (I == 1 && R >= kRowBlock && O < (int64_t(1) << 31))
            launch("sum", "sum_rows_kernel", sum_rows_kernel<T>, unsigned(O), kRowBlock, 0, dev,
                   dev_ptr<T>(x), R, dev_ptr<T>(y));
        else
            launch("sum", "sum_cols_kernel", sum_cols_kernel<T>, grid_for(O * I), kBlock, 0, dev,
                   dev_ptr<T>(x), O, R, I, dev_ptr<T>(y));
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
