// CPU depthwise convolution (one kh x kw filter per channel, stride 1) without im2col, by one of
// two paths that the shape alone chooses (so no result depends on the thread count):
//  - direct: each plane is copied into the interior of a zero-padded scratch plane (the border is
//    zeroed once per call and thread, never rewritten), and outputs are computed in tiles of 16
//    columns (8 for maps at most 8 wide) whose accumulators stay in vector registers: a kernel tap
//    is one unaligned vector load and one FMA per tile. A tile visits only the taps whose reads
//    meet the image, not those that would read padding only (a third of an 11x11 kernel on a
//    16-wide map).
//  - dense, for small maps (FCViT's 11x11 on 8/4/2-wide maps, its 3x3 on 4/2-wide ones): a plane's
//    convolution is a small matrix (each output against each input: the tap that links them, or
//    0), built once per channel and applied to the batch as one vector FMA per input element.
//    Maps with fewer than 16 outputs put several channels side by side in one vector (a block-
//    diagonal matrix), so a 2x2 map does not leave 3/4 of every vector idle.
// The path is the cheaper one by a count of vector FMAs per plane. The input gradient is the
// forward's correlation with the flipped kernel over dy; the weight gradient accumulates products
// of dy and shifted x per tap (direct) or per (output, input) pair folded into taps (dense).
#include <algorithm>
#include <vector>

#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

namespace {

constexpr int64_t kVec = 16;  // lanes of one AVX-512 float vector, the unit of the cost model
constexpr int64_t kMaxTaps = kMaxDepthwiseKernel * kMaxDepthwiseKernel;
constexpr int64_t kMaxDenseLanes = 64;         // dense accumulators: at most four float vectors
constexpr int64_t kMaxDenseEntries = 64 * 64;  // a dense matrix stays in L1 (16 KiB in float)
constexpr int64_t kFlushPlanes = 16;  // dense weight gradient: planes summed in T before double

// Work is split into at most this many (channel (group), batch chunk) tasks; the chunking depends
// on the shape only, and partial weight-gradient sums are combined in a fixed order.
constexpr int64_t kTasks = 64;

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

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

Frame forward_frame(const ConvGeom& g) {
    return {g.H, g.W, g.Ho(), g.Wo(), g.kh, g.kw, g.ph, g.pw};
}

Frame input_grad_frame(const ConvGeom& g) {
    return {g.Ho(), g.Wo(), g.H, g.W, g.kh, g.kw, g.kh - 1 - g.ph, g.kw - 1 - g.pw};
}

// Taps [lo, hi) of a k-wide kernel whose reads [at + t, at + t + n) meet the image at [w0, w1).
struct Taps {
    int64_t lo, hi;
};
Taps taps(int64_t k, int64_t at, int64_t n, int64_t w0, int64_t w1) {
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
int64_t direct_cost(const Frame& f) {
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
bool use_dense(const Frame& f) {
    const Dense d(f);
    return d.fits(f) && f.nin() * (d.L / kVec) < direct_cost(f) * d.G;
}

int64_t task_grain(int64_t work_per_task) {
    return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work_per_task, 1));
}

// Rows [i0, i1) (a multiple of R) of out [Ho, Wo] of one plane from its padded input P, in tiles
// of TW columns, R output rows per pass: each tap is one weight broadcast feeding R independent
// FMA chains (one chain of kh kw dependent FMAs per tile would wait on the FMA latency). KH and KW
// are the kernel's size when known at compile time (3x3: fully unrolled, the weights stay in
// registers and an input row loaded once serves up to three output rows), 0 otherwise. With
// Skip, only the taps whose reads meet the image, for the R rows together (their union: the
// extra taps read zeros). The geometry is read into locals and the function is not inlined:
// inside the plane loop GCC ran out of registers and kept the tile loop's counters in memory.
template <typename T, int64_t TW, int64_t R, int64_t KH, int64_t KW, bool Skip>
[[gnu::noinline]] void correlate_rows(const T* P, const Padded& pd, const Frame& f, const T* w,
                                      T bias, T* out, int64_t i0, int64_t i1) {
    const int64_t Wo = f.Wo, kh = KH ? KH : f.kh, kw = KW ? KW : f.kw, Wp = pd.Wp;
    const int64_t r0 = pd.r0, r1 = pd.r1, c0 = pd.c0, c1 = pd.c1;
    for (int64_t i = i0; i < i1; i += R) {
        const Taps rt = Skip ? taps(kh, i, R, r0, r1) : Taps{0, kh};
        for (int64_t j0 = 0; j0 < Wo; j0 += TW) {
            const int64_t n = std::min(TW, Wo - j0);
            const Taps ct = Skip ? taps(kw, j0, n, c0, c1) : Taps{0, kw};
            T acc[R][TW];
            for (int64_t r = 0; r < R; ++r)
                for (int64_t j = 0; j < TW; ++j) acc[r][j] = bias;
            for (int64_t ki = rt.lo; ki < rt.hi; ++ki) {
                const T* rows = P + (i + ki) * Wp + j0;
                const T* wr = w + ki * kw;
                for (int64_t kj = ct.lo; kj < ct.hi; ++kj) {
                    const T wt = wr[kj];
                    for (int64_t r = 0; r < R; ++r) {
                        const T* row = rows + r * Wp + kj;
#pragma omp simd
                        for (int64_t j = 0; j < TW; ++j) acc[r][j] += wt * row[j];
                    }
                }
            }
            // Fixed-length loops, not a copy of n: GCC turns that into `rep movs`, which costs more
            // than the tile's FMAs at k = 3. The partial tile is a masked store.
            for (int64_t r = 0; r < R; ++r) {
                T* o = out + (i + r) * Wo + j0;
                if (n == TW)
                    for (int64_t j = 0; j < TW; ++j) o[j] = acc[r][j];
                else
                    for (int64_t j = 0; j < TW; ++j)
                        if (j < n) o[j] = acc[r][j];
            }
        }
    }
}

// Rows per pass: R accumulators of TW lanes within about 8 vector registers (4 for double at
// TW = 16, where a tile is two vectors), the rest of the plane's rows one at a time.
template <typename T, int64_t TW>
constexpr int64_t kRowsPerPass = TW * sizeof(T) == 128 ? 4 : 8;

// out [Ho, Wo] of one plane from its padded input P (see correlate_rows).
template <typename T, int64_t TW, int64_t KH, int64_t KW, bool Skip>
void correlate(const T* P, const Padded& pd, const Frame& f, const T* w, T bias, T* out) {
    constexpr int64_t R = kRowsPerPass<T, TW>;
    const int64_t blocked = f.Ho / R * R;
    correlate_rows<T, TW, R, KH, KW, Skip>(P, pd, f, w, bias, out, 0, blocked);
    if (blocked < f.Ho)
        correlate_rows<T, TW, 1, KH, KW, Skip>(P, pd, f, w, bias, out, blocked, f.Ho);
}

// in [B, C, Hi, Wi] -> out [B, C, Ho, Wo] through the direct path.
template <typename T>
void direct_planes(const T* in, const T* ws, bool flip, const T* bias, const Frame& f, int64_t B,
                   int64_t C, T* out) {
    const Padded pd(f);
    const int64_t K = f.kh * f.kw;
    // Skipping taps costs per-tile bookkeeping; worth it where it drops a quarter of the FMAs (not
    // for 3x3 kernels, whose padding-only taps are a border row or column).
    const bool skip = 4 * direct_cost(f) < 3 * f.Ho * ((f.Wo + pd.tile - 1) / pd.tile) * K;
    const bool k3 = f.kh == 3 && f.kw == 3;
    auto run = [&]<int64_t TW>(const T* P, const T* w, T b, T* o) {
        if (k3)
            correlate<T, TW, 3, 3, false>(P, pd, f, w, b, o);
        else if (skip)
            correlate<T, TW, 0, 0, true>(P, pd, f, w, b, o);
        else
            correlate<T, TW, 0, 0, false>(P, pd, f, w, b, o);
    };
    parallel_for(B * C, task_grain(f.nout() * K), [&](int64_t pb, int64_t pe) {
        T* P = scratch<T>(size_t(pd.size()));
        std::fill(P, P + pd.size(), T(0));
        T flipped[kMaxTaps];
        int64_t flipped_c = -1;
        for (int64_t p = pb; p < pe; ++p) {
            const int64_t c = p % C;
            if (flip && c != flipped_c) {
                for (int64_t k = 0; k < K; ++k) flipped[k] = ws[c * K + (K - 1 - k)];
                flipped_c = c;
            }
            const T* w = flip ? flipped : ws + c * K;
            const T b = bias ? bias[c] : T(0);
            pd.fill(in + p * f.nin(), f, P);
            T* o = out + p * f.nout();
            if (pd.tile == 8)
                run.template operator()<8>(P, w, b, o);
            else
                run.template operator()<16>(P, w, b, o);
        }
    });
}

// M [G nin, L] for channels [c0, c0 + g): row u nin + q, lane u nout + o holds the weight linking
// input q and output o of channel c0 + u. Lanes of other channels are 0 (block-diagonal).
template <typename T>
void build_dense(const Frame& f, const Dense& d, const T* ws, bool flip, int64_t c0, int64_t g,
                 T* M) {
    const int64_t K = f.kh * f.kw, nin = f.nin(), nout = f.nout();
    std::fill(M, M + d.matrix_size(f), T(0));
    for (int64_t u = 0; u < g; ++u)
        for (int64_t q = 0; q < nin; ++q)
            for (int64_t o = 0; o < nout; ++o)
                if (const int64_t t = f.tap(o, q); t >= 0)
                    M[(u * nin + q) * d.L + u * nout + o] =
                        ws[(c0 + u) * K + (flip ? K - 1 - t : t)];
}

// out[l] = bias[l] + sum_q M[q, l] in[q] for the n inputs of one channel group, in register lanes,
// for NB planes at once (strides `is` and `os` apart): NB independent FMA chains share each row of
// M. Each output's terms are added in the same order whatever NB is.
template <typename T, int64_t L, int64_t NB>
void dense_apply(const T* M, const T* bias, const T* in, int64_t is, int64_t n, T* out, int64_t os,
                 int64_t nout) {
    T acc[NB][L];
    for (int64_t b = 0; b < NB; ++b) std::copy(bias, bias + L, acc[b]);
    for (int64_t q = 0; q < n; ++q) {
        const T* m = M + q * L;
        for (int64_t b = 0; b < NB; ++b) {
            const T v = in[b * is + q];
#pragma omp simd
            for (int64_t l = 0; l < L; ++l) acc[b][l] += m[l] * v;
        }
    }
    for (int64_t b = 0; b < NB; ++b) std::copy(acc[b], acc[b] + nout, out + b * os);
}

// Planes per pass of dense_apply (and outputs per pass of weight_dense): accumulators of L lanes
// within about 8 float vectors.
constexpr int64_t dense_batch(int64_t L) { return L <= 32 ? 4 : 2; }

// False when some input is inf or NaN (0 * inf is NaN; any NaN makes the sum NaN).
template <typename T>
bool all_finite(const T* v, int64_t n) {
    T probe = 0;
#pragma omp simd reduction(+ : probe)
    for (int64_t i = 0; i < n; ++i) probe += v[i] * T(0);
    return probe == T(0);
}

// The dense sums without the matrix's structural zeros, for a channel group holding an inf or NaN:
// a non-finite input reaches only the outputs its kernel reaches, as on the direct path, instead
// of turning the whole group into NaN through 0 * inf. Same order of terms as dense_apply.
template <typename T>
void exact_group(const Frame& f, const T* ws, bool flip, const T* bias, int64_t c0, int64_t g,
                 const T* in, T* out) {
    const int64_t K = f.kh * f.kw, nin = f.nin(), nout = f.nout();
    for (int64_t u = 0; u < g; ++u)
        for (int64_t o = 0; o < nout; ++o) {
            T acc = bias ? bias[c0 + u] : T(0);
            for (int64_t q = 0; q < nin; ++q)
                if (const int64_t t = f.tap(o, q); t >= 0)
                    acc += ws[(c0 + u) * K + (flip ? K - 1 - t : t)] * in[u * nin + q];
            out[u * nout + o] = acc;
        }
}

// in [B, C, Hi, Wi] -> out [B, C, Ho, Wo] through the dense path. Tasks are (channel group, batch
// chunk) pairs, group-major, so a thread builds each group's matrix once.
template <typename T>
void dense_planes(const T* in, const T* ws, bool flip, const T* bias, const Frame& f, int64_t B,
                  int64_t C, T* out) {
    const Dense d(f);
    const int64_t nin = f.nin(), nout = f.nout(), msize = d.matrix_size(f);
    const int64_t groups = (C + d.G - 1) / d.G;
    const int64_t chunks = std::clamp<int64_t>(kTasks / groups, 1, std::max<int64_t>(B, 1));
    const int64_t per_chunk = (B + chunks - 1) / chunks;
    parallel_for(groups * chunks, task_grain(per_chunk * msize), [&](int64_t tb, int64_t te) {
        T* M = scratch<T>(size_t(msize + d.L));
        T* bias_lanes = M + msize;
        int64_t built = -1;
        for (int64_t t = tb; t < te; ++t) {
            const int64_t group = t / chunks, chunk = t % chunks;
            const int64_t c0 = group * d.G, g = std::min(d.G, C - c0);
            if (group != built) {
                build_dense(f, d, ws, flip, c0, g, M);
                std::fill(bias_lanes, bias_lanes + d.L, T(0));
                for (int64_t u = 0; u < g && bias; ++u)
                    std::fill(bias_lanes + u * nout, bias_lanes + (u + 1) * nout, bias[c0 + u]);
                built = group;
            }
            const int64_t b1 = std::min(B, (chunk + 1) * per_chunk);
            auto apply = [&]<int64_t L>() {
                constexpr int64_t NB = dense_batch(L);
                const int64_t is = C * nin, os = C * nout;
                int64_t b = chunk * per_chunk;
                for (; b + NB <= b1; b += NB) {
                    const T* src = in + (b * C + c0) * nin;
                    bool finite = true;
                    for (int64_t u = 0; u < NB; ++u) finite &= all_finite(src + u * is, g * nin);
                    if (!finite) break;
                    dense_apply<T, L, NB>(M, bias_lanes, src, is, g * nin,
                                          out + (b * C + c0) * nout, os, g * nout);
                }
                for (; b < b1; ++b) {  // the remainder, and planes near an inf or NaN
                    const T* src = in + (b * C + c0) * nin;
                    T* dst = out + (b * C + c0) * nout;
                    if (all_finite(src, g * nin))
                        dense_apply<T, L, 1>(M, bias_lanes, src, is, g * nin, dst, os, g * nout);
                    else
                        exact_group(f, ws, flip, bias, c0, g, src, dst);
                }
            };
            switch (d.L) {
                case 16:
                    apply.template operator()<16>();
                    break;
                case 32:
                    apply.template operator()<32>();
                    break;
                case 48:
                    apply.template operator()<48>();
                    break;
                default:
                    apply.template operator()<64>();
                    break;
            }
        }
    });
}

template <typename T>
void correlate_planes(const T* in, const T* ws, bool flip, const T* bias, const Frame& f, int64_t B,
                      int64_t C, T* out) {
    if (use_dense(f))
        dense_planes(in, ws, flip, bias, f, B, C, out);
    else
        direct_planes(in, ws, flip, bias, f, B, C, out);
}

// Weight gradient of one channel over planes [b0, b0 + nb), direct path: per plane, each tap keeps
// TW partial sums in T (one FMA per tap and tile, as the forward), added into acc (double) at the
// end of the plane. KH and KW as in correlate_rows: for 3x3 the nine taps' sums are a local array
// held in registers (nine independent FMA chains per tile), otherwise they live in `lanes`.
// Scratch: P (padded x plane), one dy row padded to whole tiles, the lanes.
template <typename T, int64_t TW, int64_t KH, int64_t KW>
void weight_direct(const T* xs, const T* gs, const Frame& f, const Padded& pd, int64_t C, int64_t c,
                   int64_t b0, int64_t nb, T* P, T* grow, T* lanes, double* acc) {
    const int64_t kh = KH ? KH : f.kh, kw = KW ? KW : f.kw, K = kh * kw;
    T local[KH * KW > 0 ? KH * KW : 1][TW];
    T* sums = KH * KW > 0 ? &local[0][0] : lanes;
    for (int64_t b = b0; b < b0 + nb; ++b) {
        const int64_t p = b * C + c;
        pd.fill(xs + p * f.nin(), f, P);
        for (int64_t k = 0; k < K * TW; ++k) sums[k] = T(0);
        for (int64_t i = 0; i < f.Ho; ++i) {
            std::copy(gs + p * f.nout() + i * f.Wo, gs + p * f.nout() + (i + 1) * f.Wo, grow);
            const Taps r = KH ? Taps{0, kh} : pd.rows(f, i);
            for (int64_t j0 = 0; j0 < f.Wo; j0 += TW) {
                const Taps cl = KW ? Taps{0, kw} : pd.cols(f, j0, std::min(TW, f.Wo - j0));
                for (int64_t ki = r.lo; ki < r.hi; ++ki) {
                    const T* row = P + (i + ki) * pd.Wp + j0;
                    for (int64_t kj = cl.lo; kj < cl.hi; ++kj) {
                        T* l = sums + (ki * kw + kj) * TW;
#pragma omp simd
                        for (int64_t j = 0; j < TW; ++j) l[j] += grow[j0 + j] * row[kj + j];
                    }
                }
            }
        }
        for (int64_t k = 0; k < K; ++k)
            for (int64_t j = 0; j < TW; ++j) acc[k] += double(sums[k * TW + j]);
    }
}

// Outputs [o0, o0 + OB) of weight_dense: OB independent FMA chains over the planes, each output's
// terms in the same order whatever OB is.
template <typename T, int64_t L, int64_t OB>
void weight_dense_outputs(const T* gs, const Frame& f, int64_t C, int64_t c, int64_t b0, int64_t nb,
                          const T* X, int64_t o0, double* acc) {
    const int64_t nout = f.nout();
    double sums[OB][L] = {};
    for (int64_t s0 = 0; s0 < nb; s0 += kFlushPlanes) {
        T part[OB][L] = {};
        for (int64_t bi = s0; bi < std::min(nb, s0 + kFlushPlanes); ++bi) {
            const T* g = gs + ((b0 + bi) * C + c) * nout + o0;
            const T* x = X + bi * L;
            for (int64_t u = 0; u < OB; ++u) {
                const T gv = g[u];
#pragma omp simd
                for (int64_t l = 0; l < L; ++l) part[u][l] += gv * x[l];
            }
        }
        for (int64_t u = 0; u < OB; ++u)
            for (int64_t l = 0; l < L; ++l) sums[u][l] += double(part[u][l]);
    }
    for (int64_t u = 0; u < OB; ++u)
        for (int64_t q = 0; q < f.nin(); ++q)
            if (const int64_t t = f.tap(o0 + u, q); t >= 0) acc[t] += sums[u][q];
}

// Weight gradient of one channel over planes [b0, b0 + nb), dense path: for each output o, L lanes
// accumulate dy[o] x[q] over the planes (in T for kFlushPlanes planes, then in double), and each
// (o, q) pair linked by a tap is added into that tap. X: the planes' x, each padded to L lanes.
template <typename T, int64_t L>
void weight_dense(const T* xs, const T* gs, const Frame& f, int64_t C, int64_t c, int64_t b0,
                  int64_t nb, T* X, double* acc) {
    const int64_t nin = f.nin(), nout = f.nout();
    for (int64_t bi = 0; bi < nb; ++bi) {
        const T* x = xs + ((b0 + bi) * C + c) * nin;
        std::copy(x, x + nin, X + bi * L);
        std::fill(X + bi * L + nin, X + (bi + 1) * L, T(0));
    }
    constexpr int64_t OB = dense_batch(L);
    int64_t o = 0;
    for (; o + OB <= nout; o += OB) weight_dense_outputs<T, L, OB>(gs, f, C, c, b0, nb, X, o, acc);
    for (; o < nout; ++o) weight_dense_outputs<T, L, 1>(gs, f, C, c, b0, nb, X, o, acc);
}

}  // namespace

// y[b, c, i, j] = bias[c] + sum_{ki, kj} w[c, ki, kj] x[b, c, i - ph + ki, j - pw + kj].
void dwconv2d_fwd(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeom& g, Tensor& y) {
    dispatch_float(x.dtype(), "conv2d", [&]<typename T>() {
        correlate_planes(x.data<T>(), w.data<T>(), false, b.defined() ? b.data<T>() : nullptr,
                         forward_frame(g), g.B, g.C, y.data<T>());
    });
}

// dx[b, c, h, w] = sum_{ki, kj} w[c, ki, kj] dy[b, c, h + ph - ki, w + pw - kj]: the forward's
// correlation with the kernel flipped, over dy shifted by (kh - 1 - ph, kw - 1 - pw).
void dwconv2d_bwd_input(const Tensor& dy, const Tensor& w, const ConvGeom& g, Tensor& dx) {
    dispatch_float(dy.dtype(), "conv2d", [&]<typename T>() {
        correlate_planes(dy.data<T>(), w.data<T>(), true, static_cast<const T*>(nullptr),
                         input_grad_frame(g), g.B, g.C, dx.data<T>());
    });
}

// dw[c, ki, kj] = sum_{b, i, j} dy[b, c, i, j] x[b, c, i - ph + ki, j - pw + kj]. Tasks are
// (channel, batch chunk) pairs whose partial sums (double) are combined in a fixed order.
void dwconv2d_bwd_weight(const Tensor& x, const Tensor& dy, const ConvGeom& g, Tensor& dw) {
    const Frame f = forward_frame(g);
    const Padded pd(f);
    const int64_t K = g.kh * g.kw, TW = pd.tile, Lx = round_up(f.nin(), kVec);
    const bool dense = use_dense(f) && Lx <= kMaxDenseLanes;
    const bool k3 = g.kh == 3 && g.kw == 3;
    const int64_t chunks =
        std::clamp<int64_t>(kTasks / std::max<int64_t>(g.C, 1), 1, std::max<int64_t>(g.B, 1));
    const int64_t per_chunk = (g.B + chunks - 1) / chunks;
    Tensor partial = Tensor::empty({chunks, g.C, K}, DType::F64);
    double* ps = partial.data<double>();
    dispatch_float(x.dtype(), "conv2d", [&]<typename T>() {
        const T* xs = x.data<T>();
        const T* gs = dy.data<T>();
        parallel_for(chunks * g.C, 1, [&](int64_t tb, int64_t te) {
            const int64_t direct_size = pd.size() + round_up(f.Wo, TW) + K * TW;
            T* P = scratch<T>(size_t(dense ? per_chunk * Lx : direct_size));
            T* grow = P + pd.size();  // one dy row; the tail past Wo stays 0
            T* lanes = grow + round_up(f.Wo, TW);
            if (!dense) std::fill(P, P + direct_size, T(0));
            for (int64_t t = tb; t < te; ++t) {
                const int64_t chunk = t / g.C, c = t % g.C, b0 = chunk * per_chunk;
                const int64_t nb = std::max<int64_t>(0, std::min(g.B, b0 + per_chunk) - b0);
                double* acc = ps + t * K;
                std::fill(acc, acc + K, 0.0);
                if (dense) {
                    switch (Lx) {
                        case 16:
                            weight_dense<T, 16>(xs, gs, f, g.C, c, b0, nb, P, acc);
                            break;
                        case 32:
                            weight_dense<T, 32>(xs, gs, f, g.C, c, b0, nb, P, acc);
                            break;
                        case 48:
                            weight_dense<T, 48>(xs, gs, f, g.C, c, b0, nb, P, acc);
                            break;
                        default:
                            weight_dense<T, 64>(xs, gs, f, g.C, c, b0, nb, P, acc);
                            break;
                    }
                } else {
                    auto run = [&]<int64_t TW_, int64_t KH, int64_t KW>() {
                        weight_direct<T, TW_, KH, KW>(xs, gs, f, pd, g.C, c, b0, nb, P, grow, lanes,
                                                      acc);
                    };
                    if (TW == 8)
                        k3 ? run.template operator()<8, 3, 3>()
                           : run.template operator()<8, 0, 0>();
                    else
                        k3 ? run.template operator()<16, 3, 3>()
                           : run.template operator()<16, 0, 0>();
                }
            }
        });
        T* dws = dw.data<T>();
        for (int64_t c = 0; c < g.C; ++c)
            for (int64_t k = 0; k < K; ++k) {
                double s = 0;
                for (int64_t chunk = 0; chunk < chunks; ++chunk) s += ps[(chunk * g.C + c) * K + k];
                dws[c * K + k] = T(s);
            }
    });
}

}  // namespace vg::cpu
