// Folding a contiguous run of inputs with a reduction functor (core/reductions.h) on the CPU:
// independent accumulators in interleaved lanes (the compiler keeps them in vector registers),
// combined in lane order, and long rows cut in chunks of a length set by the row alone. The
// result depends on the length of the run only: never on threads or alignment.
#pragma once
#include <algorithm>
#include <cstdint>

#include "core/reductions.h"

namespace vg::cpu {

constexpr int64_t kFoldLanes = 16;        // one AVX-512 register of float
constexpr int64_t kMinFoldChunk = 8192;   // a chunk is worth a thread's time
constexpr int64_t kMaxFoldChunks = 1024;  // partial results of one row, at most

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The chunk length of a row of R inputs (at most kMaxFoldChunks chunks).
constexpr int64_t fold_chunk(int64_t R) {
    return std::max(kMinFoldChunk, ceil_div(R, kMaxFoldChunks));
}

// The accumulator of p[0, n), whose first input sits at position r0 along the reduced axis.
template <typename F, typename T>
typename F::template Acc<T> fold(const T* p, int64_t n, int64_t r0) {
    using A = typename F::template Acc<T>;
    A lane[kFoldLanes];
    for (auto& a : lane) a = F::template init<T>();
    int64_t i = 0;
    for (; i + kFoldLanes <= n; i += kFoldLanes) {
#pragma omp simd
        for (int64_t k = 0; k < kFoldLanes; ++k) lane[k] = F::step(lane[k], p[i + k], r0 + i + k);
    }
    A acc = lane[0];
    for (int64_t k = 1; k < kFoldLanes; ++k) acc = F::combine(acc, lane[k]);
    for (; i < n; ++i) acc = F::step(acc, p[i], r0 + i);
    return acc;
}

// The accumulator of a whole row p[0, R): its chunks folded one after the other.
template <typename F, typename T>
typename F::template Acc<T> fold_row(const T* p, int64_t R) {
    int64_t chunk = fold_chunk(R);
    if (R <= chunk) return fold<F>(p, R, 0);
    auto acc = F::template init<T>();
    for (int64_t c0 = 0; c0 < R; c0 += chunk)
        acc = F::combine(acc, fold<F>(p + c0, std::min(chunk, R - c0), c0));
    return acc;
}

}  // namespace vg::cpu
