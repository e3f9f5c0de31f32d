// CPU loop kit: one OpenMP pool for everything (Eigen's GEMM uses the same pool), and a strided
// N-ary row iterator with a contiguous fast path that the elementwise and copy kernels share.
#pragma once
#include <omp.h>

#include <array>
#include <cstdint>

#include "core/tensor.h"

namespace vg::cpu {

// Work below this many elements stays on one thread: forking costs more than it saves.
constexpr int64_t kParallelGrain = 32768;

// Calls f(begin, end) over [0, n) split across the pool when n is large enough.
template <typename F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
    if (n <= grain || omp_get_max_threads() == 1 || omp_in_parallel()) {
        if (n > 0) f(int64_t(0), n);
        return;
    }
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int64_t chunk = (n + nt - 1) / nt;
        int64_t b = std::min<int64_t>(n, t * chunk), e = std::min<int64_t>(n, b + chunk);
        if (b < e) f(b, e);
    }
}

// Calls f(offsets, inner_len, inner_strides) for every innermost row of `shape`, where offsets[k]
// is the element offset of the row's start in operand k (base offset `base[k]` plus strides).
// All-contiguous operands collapse to flat rows with unit inner strides, so the common case is a
// single vectorisable loop; callers test `inner_strides` for all-ones to take that path.
template <size_t N, typename F>
void for_each_row(const Shape& shape, const std::array<const Shape*, N>& strides,
                  std::array<int64_t, N> base, F&& f) {
    int nd = shape.size();
    int64_t numel = shape.numel();
    if (numel == 0) return;
    bool all_contig = true;
    Shape cs = contiguous_strides(shape);
    for (size_t k = 0; k < N; ++k)
        for (int d = 0; d < nd; ++d)
            if (shape[d] != 1 && (*strides[k])[d] != cs[d]) all_contig = false;
    if (nd == 0 || all_contig) {
        std::array<int64_t, N> unit;
        unit.fill(1);
        parallel_for(numel, kParallelGrain, [&](int64_t b, int64_t e) {
            std::array<int64_t, N> p = base;
            for (size_t k = 0; k < N; ++k) p[k] += b;
            f(p, e - b, unit);
        });
        return;
    }
    int64_t inner = shape[nd - 1];
    std::array<int64_t, N> inner_strides;
    for (size_t k = 0; k < N; ++k) inner_strides[k] = (*strides[k])[nd - 1];
    int64_t rows = numel / inner;
    parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)),
                 [&](int64_t rb, int64_t re) {
                     for (int64_t r = rb; r < re; ++r) {
                         std::array<int64_t, N> p = base;
                         int64_t rem = r;
                         for (int d = nd - 2; d >= 0; --d) {
                             int64_t i = rem % shape[d];
                             rem /= shape[d];
                             for (size_t k = 0; k < N; ++k) p[k] += i * (*strides[k])[d];
                         }
                         f(p, inner, inner_strides);
                     }
                 });
}

}  // namespace vg::cpu
