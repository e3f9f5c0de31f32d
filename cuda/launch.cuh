// The launch kit every .cu file shares: grid sizing, grid-stride loops, warp and block reductions,
// checked launches, and StridedView, the by-value description of N operands sharing one shape
// with their own strides (broadcast dims have stride 0), which the generic kernels index with.
#pragma once
#include <array>
#include <cstdint>
#include <utility>

#include "core/tensor.h"
#include "cuda/runtime.h"

namespace vg::cuda {

constexpr int kWarp = 32;
constexpr int kBlock = 256;                // threads per block of the elementwise-style kernels
constexpr int64_t kMaxBlocks = 65535 * 8;  // grid-stride loops cover the rest

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Blocks for a grid-stride loop over n items with `threads` threads per block.
inline unsigned grid_for(int64_t n, int threads = kBlock) {
    int64_t b = ceil_div(n, threads);
    return unsigned(b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b));
}

// for (int64_t i = <global thread index>; i < n; i += <threads in grid>)
#define VG_GRID_STRIDE_LOOP(i, n)                                             \
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
         i += int64_t(blockDim.x) * gridDim.x)

// Launches `kernel` on device's stream and checks the launch (and, in sync-debug mode, its
// execution), naming the op and the kernel in any error. Empty grids launch nothing.
template <typename... P, typename... A>
void launch(const char* op, const char* kernel_name, void (*kernel)(P...), dim3 grid, dim3 block,
            size_t smem, int device, A&&... args) {
    if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;
    cudaStream_t s = stream(device);
    kernel<<<grid, block, smem, s>>>(std::forward<A>(args)...);
    check_launch(op, kernel_name, device);
}

// --- reductions -------------------------------------------------------------------------------

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
    for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
template <typename T>
__device__ __forceinline__ T warp_max(T v) {
    for (int o = kWarp / 2; o > 0; o /= 2) {
        T other = __shfl_xor_sync(0xffffffffu, v, o);
        v = other > v ? other : v;
    }
    return v;
}

// Folds over a whole block (block_reduce for any reduction functor, block_sum): cuda/reduce.cuh.

// --- strided indexing -------------------------------------------------------------------------

// N operands over one shape. Size-1 dims are dropped on the host, so the device loop only pays
// for dims that vary.
template <int N>
struct StridedView {
    int nd;
    int64_t shape[kMaxDims];
    int64_t strides[N][kMaxDims];

    // off[k] = element offset of linear (row-major) index i in operand k.
    __device__ __forceinline__ void offsets(int64_t i, int64_t (&off)[N]) const {
#pragma unroll
        for (int k = 0; k < N; ++k) off[k] = 0;
        for (int d = nd - 1; d >= 0; --d) {
            int64_t e = shape[d];
            int64_t q = i / e, r = i - q * e;
            i = q;
#pragma unroll
            for (int k = 0; k < N; ++k) off[k] += r * strides[k][d];
        }
    }
};

template <int N>
StridedView<N> strided_view(const Shape& shape, const std::array<const Shape*, N>& strides) {
    StridedView<N> v{};
    v.nd = 0;
    for (int d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1) continue;
        v.shape[v.nd] = shape[d];
        for (int k = 0; k < N; ++k) v.strides[k][v.nd] = (*strides[k])[d];
        ++v.nd;
    }
    return v;
}

// Typed device pointer to element [0, ..., 0] (offset applied); checks the dtype.
template <typename T>
T* dev_ptr(const Tensor& t) {
    return t.data<T>();
}

}  // namespace vg::cuda
