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
// The shared geometry is core/cpu/dwconv_frame.h, the dense path core/cpu/dwconv_dense.h.
#include <algorithm>
#include <vector>

#include "core/cpu/dwconv_dense.h"
#include "core/cpu/dwconv_frame.h"
#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

namespace {

using namespace dwconv;  // the shared geometry and the dense path

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
