// Warp and block folds for any reduction functor of core/reductions.h: the accumulator (a float,
// or a small struct such as {value, index}) moves between lanes word by word, and lanes combine
// in a fixed butterfly, so a block's result does not vary from run to run.
#pragma once
#include <cstring>

#include "core/reductions.h"
#include "cuda/launch.cuh"

namespace vg::cuda {

// a from lane (lane ^ mask) of the warp.
template <typename A>
__device__ __forceinline__ A shuffle_xor(A a, int mask) {
    static_assert(sizeof(A) % 4 == 0, "accumulators are whole 32-bit words");
    constexpr int kWords = int(sizeof(A) / 4);
    unsigned w[kWords];
    memcpy(w, &a, sizeof(A));
#pragma unroll
    for (int k = 0; k < kWords; ++k) w[k] = __shfl_xor_sync(0xffffffffu, w[k], mask);
    memcpy(&a, w, sizeof(A));
    return a;
}

// The warp's accumulators combined; every lane gets the result.
template <typename F, typename T>
__device__ __forceinline__ typename F::template Acc<T> warp_reduce(typename F::template Acc<T> a) {
    for (int o = kWarp / 2; o > 0; o /= 2) a = F::combine(a, shuffle_xor(a, o));
    return a;
}

// The block's accumulators combined (blockDim.x a multiple of 32); every thread gets the result.
// Only warp 0 reads the per-warp partials, and the result goes to its own slot, so no thread reads
// a shared word another thread writes between the same two barriers (what racecheck flags).
// Back-to-back calls are safe: a call writes `partial` before its first barrier, after every read
// of the previous call's `partial` (before that call's second barrier), and writes `result` after
// its first barrier, after every read of the previous call's `result`.
template <typename F, typename T>
__device__ typename F::template Acc<T> block_reduce(typename F::template Acc<T> a) {
    using A = typename F::template Acc<T>;
    __shared__ A partial[kWarp];
    __shared__ A result;
    int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
    a = warp_reduce<F, T>(a);
    if (lane == 0) partial[warp] = a;
    __syncthreads();
    if (warp == 0) {
        int warps = int(blockDim.x) / kWarp;
        a = warp_reduce<F, T>(lane < warps ? partial[lane] : F::template init<T>());
        if (lane == 0) result = a;
    }
    __syncthreads();
    return result;
}

// The block's sum (every thread gets it), for kernels whose row sums are one step of a fused pass.
template <typename T>
__device__ T block_sum(T v) {
    return block_reduce<red::Sum, T>(v);
}

}  // namespace vg::cuda
