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

// out [Ho, Wo] of one plane from its padded input P, tiles of TW columns; with Skip, only the taps
// whose reads meet the image. The geometry is read into locals and the function is not inlined:
// inside the plane loop GCC ran out of registers and kept the tile loop's counters in memory.
template <typename T, int64_t TW, bool Skip>
[[gnu::noinline]] void correlate(const T* P, const Padded& pd, const Frame& f, const T* w, T bias,
                                 T* out) {
    const int64_t Ho = f.Ho, Wo = f.Wo, kh = f.kh, kw = f.kw, Wp = pd.Wp;
    const int64_t r0 = pd.r0, r1 = pd.r1, c0 = pd.c0, c1 = pd.c1;
    for (int64_t i = 0; i < Ho; ++i) {
        const Taps r = Skip ? taps(kh, i, 1, r0, r1) : Taps{0, kh};
        for (int64_t j0 = 0; j0 < Wo; j0 += TW) {
            const int64_t n = std::min(TW, Wo - j0);
            const Taps c = Skip ? taps(kw, j0, n, c0, c1) : Taps{0, kw};
            T acc[TW];
            for (int64_t j = 0; j < TW; ++j) acc[j] = bias;
            for (int64_t ki = r.lo; ki < r.hi; ++ki) {
                const T* row = P + (i + ki) * Wp + j0;
                const T* wr = w + ki * kw;
                for (int64_t kj = c.lo; kj < c.hi; ++kj) {
                    const T wt = wr[kj];
#pragma omp simd
                    for (int64_t j = 0; j < TW; ++j) acc[j] += wt * row[kj + j];
                }
            }
            // Fixed-length loops, not a copy of n: GCC turns that into `rep movs`, which costs more
            // than the tile's FMAs at k = 3. The partial tile is a masked store.
            T* o = out + i * Wo + j0;
            if (n == TW)
                for (int64_t j = 0; j < TW; ++j) o[j] = acc[j];
            else
                for (int64_t j = 0; j < TW; ++j)
                    if (j < n) o[j] = acc[j];
        }
    }
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
    auto run = [&]<int64_t TW, bool Skip>(const T* P, const T* w, T b, T* o) {
        correlate<T, TW, Skip>(P, pd, f, w, b, o);
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
                skip ? run.template operator()<8, true>(P, w, b, o)
                     : run.template operator()<8, false>(P, w, b, o);
            else
                skip ? run.template operator()<16, true>(P, w, b, o)
                     : run.template operator()<16, false>(P, w, b, o);
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

// out[l] = bias[l] + sum_q M[q, l] in[q] for the n inputs of one channel group, in register lanes.
template <typename T, int64_t L>
void dense_apply(const T* M, const T* bias, const T* in, int64_t n, T* out, int64_t nout) {
    T acc[L];
    std::copy(bias, bias + L, acc);
    for (int64_t q = 0; q < n; ++q) {
        const T v = in[q];
        const T* m = M + q * L;
#pragma omp simd
        for (int64_t l = 0; l < L; ++l) acc[l] += m[l] * v;
    }
    std::copy(acc, acc + nout, out);
}

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
            for (int64_t b = chunk * per_chunk; b < std::min(B, (chunk + 1) * per_chunk); ++b) {
                const T* src = in + (b * C + c0) * nin;
                T* dst = out + (b * C + c0) * nout;
                if (!all_finite(src, g * nin)) {
                    exact_group(f, ws, flip, bias, c0, g, src, dst);
                    continue;
                }
                switch (d.L) {
                    case 16:
                        dense_apply<T, 16>(M, bias_lanes, src, g * nin, dst, g * nout);
                        break;
                    case 32:
                        dense_apply<T, 32>(M, bias_lanes, src, g * nin, dst, g * nout);
                        break;
                    case 48:
                        dense_apply<T, 48>(M, bias_lanes, src, g * nin, dst, g * nout);
                        break;
                    default:
                        dense_apply<T, 64>(M, bias_lanes, src, g * nin, dst, g * nout);
                        break;
                }
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
// end of the plane. Scratch: P (padded x plane), one dy row padded to whole tiles, the lanes.
template <typename T, int64_t TW>
void weight_direct(const T* xs, const T* gs, const Frame& f, const Padded& pd, int64_t C, int64_t c,
                   int64_t b0, int64_t nb, T* P, T* grow, T* lanes, double* acc) {
    const int64_t K = f.kh * f.kw;
    for (int64_t b = b0; b < b0 + nb; ++b) {
        const int64_t p = b * C + c;
        pd.fill(xs + p * f.nin(), f, P);
        std::fill(lanes, lanes + K * TW, T(0));
        for (int64_t i = 0; i < f.Ho; ++i) {
            std::copy(gs + p * f.nout() + i * f.Wo, gs + p * f.nout() + (i + 1) * f.Wo, grow);
            const Taps r = pd.rows(f, i);
            for (int64_t j0 = 0; j0 < f.Wo; j0 += TW) {
                const Taps cl = pd.cols(f, j0, std::min(TW, f.Wo - j0));
                for (int64_t ki = r.lo; ki < r.hi; ++ki) {
                    const T* row = P + (i + ki) * pd.Wp + j0;
                    for (int64_t kj = cl.lo; kj < cl.hi; ++kj) {
                        T* l = lanes + (ki * f.kw + kj) * TW;
#pragma omp simd
                        for (int64_t j = 0; j < TW; ++j) l[j] += grow[j0 + j] * row[kj + j];
                    }
                }
            }
        }
        for (int64_t k = 0; k < K; ++k)
            for (int64_t j = 0; j < TW; ++j) acc[k] += double(lanes[k * TW + j]);
    }
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
    for (int64_t o = 0; o < nout; ++o) {
        double sums[L] = {};
        for (int64_t s0 = 0; s0 < nb; s0 += kFlushPlanes) {
            T part[L] = {};
            for (int64_t bi = s0; bi < std::min(nb, s0 + kFlushPlanes); ++bi) {
                const T gv = gs[((b0 + bi) * C + c) * nout + o];
                const T* x = X + bi * L;
#pragma omp simd
                for (int64_t l = 0; l < L; ++l) part[l] += gv * x[l];
            }
            for (int64_t l = 0; l < L; ++l) sums[l] += double(part[l]);
        }
        for (int64_t q = 0; q < nin; ++q)
            if (const int64_t t = f.tap(o, q); t >= 0) acc[t] += sums[q];
    }
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
                } else if (TW == 8) {
                    weight_direct<T, 8>(xs, gs, f, pd, g.C, c, b0, nb, P, grow, lanes, acc);
                } else {
                    weight_direct<T, 16>(xs, gs, f, pd, g.C, c, b0, nb, P, grow, lanes, acc);
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
