// One row of GPSA's gated mix each way, shared by the gated_mix kernels and the fused attention
// so that both give the same numbers (the per-element rule is fn::GatedMix).
#pragma once
#include <cstdint>

#include "core/functors.h"

namespace vg::cpu {

// y = (1 - gate) c + gate p over M values; returns the row's sum s, by which y is divided when
// `normalize`.
template <typename T>
T gated_mix_row_fwd(const T* c, const T* p, T gate, bool normalize, T* y, int64_t M) {
    for (int64_t j = 0; j < M; ++j) y[j] = fn::GatedMix::forward(c[j], p[j], gate);
    if (!normalize) return T(1);
    T sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < M; ++j) sum += y[j];
    const T inv = T(1) / sum;
    for (int64_t j = 0; j < M; ++j) y[j] *= inv;
    return sum;
}

// From the row's dy: dc is written (it may alias dy), dp and dgate accumulate. y and s (the
// forward's output row and sum) are read only when `normalize`.
template <typename T>
void gated_mix_row_bwd(const T* c, const T* p, T gate, bool normalize, const T* y, T s, const T* dy,
                       T* dc, T* dp, T& dgate, int64_t M) {
    T dot = 0, inv = 1;
    if (normalize) {
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j < M; ++j) dot += dy[j] * y[j];
        inv = T(1) / s;
    }
    // A local accumulator, so that the loop vectorises as a reduction.
    T dg = 0;
#pragma omp simd reduction(+ : dg)
    for (int64_t j = 0; j < M; ++j)
        fn::GatedMix::backward(dy[j], dot, inv, c[j], p[j], gate, dc[j], dp[j], dg);
    dgate += dg;
}

}  // namespace vg::cpu
