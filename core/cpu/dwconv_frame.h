// The geometry both paths of the CPU depthwise convolution share (core/cpu/dwconv.cpp): one
// plane's correlation frame, the direct path's padded scratch plane and its cost, the dense
// path's layout, and the rule that picks a path from the shape alone.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu::dwconv {

constexpr int64_t kVec = 16;  // lanes of one AVX-512 float vector, the unit of the cost model
constexpr int64_t kMaxTaps = kMaxDepthwiseKernel * kMaxDepthwiseKernel;
constexpr int64_t kMaxDenseLanes = 64;         // dense accumulators: at most four float vectors
constexpr int64_t kMaxDenseEntries = 64 * 64;  // a dense matrix stays in L1 (16 KiB in float)
constexpr int64_t kFlushPlanes = 16;  // dense weight gradient: planes summed in T before double

// Work is split into at most this many (channel (group), batch chunk) tasks; the chunking depends
// on the shape only, and partial weight-gradient sums are combined in a fixed order.
constexpr int64_t kTasks = 64;

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Per-thread scratch, grown on demand and then reused (no allocation in the steady state).
template <typename T>
T* scratch(size_t n) {
    thread_local std::vector<T> buf;
    if (buf.size() < n) buf.resize(n);
    return buf.data();
}

// One plane's correlation: out[i, j] = sum_{ki, kj} w[ki, kj] in[i + ki - oh, j + kj - ow], with
// `in` [Hi, Wi] read as 0 outside. Forward: in = x, (oh, ow) = (ph, pw). Input gradient: in = dy,
// the flipped kernel, (oh, ow) = (kh - 1 - ph, kw - 1 - pw).
struct Frame {
    int64_t Hi, Wi, Ho, Wo, kh, kw, oh, ow;
    int64_t nin() const { return Hi * Wi; }
    int64_t nout() const { return Ho * Wo; }
    // The tap linking output o and input q (row-major indices), or -1 when none does.
    int64_t tap(int64_t o, int64_t q) const {
        const int64_t ki = q / Wi + oh - o / Wo, kj = q % Wi + ow - o % Wo;
        return ki >= 0 && ki < kh && kj >= 0 && kj < kw ? ki * kw + kj : -1;
    }
};

inline Frame forward_frame(const ConvGeom& g) {
    return {g.H, g.W, g.Ho(), g.Wo(), g.kh, g.kw, g.ph, g.pw};
}

inline Frame input_grad_frame(const ConvGeom& g) {
    return {g.Ho(), g.Wo(), g.H, g.W, g.kh, g.kw, g.kh - 1 - g.ph, g.kw - 1 - g.pw};
}

// Taps [lo, hi) of a k-wide kernel whose reads [at + t, at + t + n) meet the image at [w0, w1).
struct Taps {
    int64_t lo, hi;
};
inline Taps taps(int64_t k, int64_t at, int64_t n, int64_t w0, int64_t w1) {
    return {std::max<int64_t>(0, w0 - at - n + 1), std::min<int64_t>(k, w1 - at)};
}

// The direct path's scratch plane [Hp, Wp]: whole tiles plus the kernel's reach, so a tile never
// reads past its row. The image occupies rows [r0, r1) and columns [c0, c1); the rest is zero.
struct Padded {
    int64_t tile, Hp, Wp, r0, r1, c0, c1;
    explicit Padded(const Frame& f)
        : tile(f.Wo <= 8 ? 8 : 16),
          Hp(f.Ho + f.kh - 1),
          Wp(round_up(f.Wo, tile) + f.kw - 1),
          r0(std::clamp<int64_t>(f.oh, 0, Hp)),
          r1(std::clamp<int64_t>(f.oh + f.Hi, r0, Hp)),
          c0(std::clamp<int64_t>(f.ow, 0, Wp)),
          c1(std::clamp<int64_t>(f.ow + f.Wi, c0, Wp)) {}
    int64_t size() const { return Hp * Wp; }
    // Copies one input plane into the image window of P (whose border was zeroed before).
    template <typename T>
    void fill(const T* src, const Frame& f, T* P) const {
        for (int64_t r = r0; r < r1; ++r) {
            const T* s = src + (r - f.oh) * f.Wi - f.ow;
            std::copy(s + c0, s + c1, P + r * Wp + c0);
        }
    }
    Taps rows(const Frame& f, int64_t i) const { return taps(f.kh, i, 1, r0, r1); }
    Taps cols(const Frame& f, int64_t j0, int64_t n) const { return taps(f.kw, j0, n, c0, c1); }
};

// Vector FMAs per plane of the direct path (an 8-wide tile costs as much as a 16-wide one).
inline int64_t direct_cost(const Frame& f) {
    const Padded pd(f);
    int64_t cost = 0;
    for (int64_t i = 0; i < f.Ho; ++i) {
        const Taps r = pd.rows(f, i);
        for (int64_t j0 = 0; j0 < f.Wo; j0 += pd.tile) {
            const Taps c = pd.cols(f, j0, std::min(pd.tile, f.Wo - j0));
            cost += std::max<int64_t>(0, r.hi - r.lo) * std::max<int64_t>(0, c.hi - c.lo);
        }
    }
    return cost;
}

// The dense path's layout: G planes of consecutive channels share one accumulator of L lanes.
struct Dense {
    int64_t G, L;
    explicit Dense(const Frame& f)
        : G(std::max<int64_t>(1, kVec / f.nout())), L(round_up(G * f.nout(), kVec)) {}
    bool fits(const Frame& f) const {
        return L <= kMaxDenseLanes && G * f.nin() * L <= kMaxDenseEntries;
    }
    int64_t matrix_size(const Frame& f) const { return G * f.nin() * L; }
};

// Dense when it fits and needs fewer vector FMAs per plane (nin of L lanes, shared by G planes).
inline bool use_dense(const Frame& f) {
    const Dense d(f);
    return d.fits(f) && f.nin() * (d.L / kVec) < direct_cost(f) * d.G;
}

inline int64_t task_grain(int64_t work_per_task) {
    return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work_per_task, 1));
}

}  // namespace vg::cpu::dwconv
