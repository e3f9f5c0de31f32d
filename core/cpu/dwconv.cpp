// CPU depthwise convolution (one kh x kw filter per channel, stride 1) without im2col. Each (b, c)
// plane is copied once into a zero-padded scratch plane, and outputs are computed in tiles of
// kTile columns whose accumulators stay in vector registers: every kernel tap is then one
// unaligned vector load and one FMA per tile, with no bounds checks, whatever the map width.
// FCViT's 11x11 depthwise convolutions on 16..2-wide maps and Refiner's 3x3 ones on 65-wide
// attention maps go through here (the columns im2col would build are kh*kw times the input).
#include <algorithm>
#include <vector>

#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

namespace {

constexpr int64_t kTile = 16;  // output columns per register tile (one AVX-512 float vector)
constexpr int64_t kMaxTaps = kMaxDepthwiseKernel * kMaxDepthwiseKernel;

// Weight-gradient partial sums are split over at most this many (channel, batch chunk) tasks:
// the chunking depends on the shape only, so the result does not depend on the thread count.
constexpr int64_t kWeightTasks = 64;

int64_t tiles(int64_t n) { return (n + kTile - 1) / kTile; }

// Per-thread scratch, grown on demand and then reused (no allocation in the steady state).
template <typename T>
T* scratch(size_t n) {
    thread_local std::vector<T> buf;
    if (buf.size() < n) buf.resize(n);
    return buf.data();
}

// dst [Hd, Wd] = src [Hs, Ws] shifted by (oh, ow): dst[r][s] = src[r - oh][s - ow], 0 outside.
template <typename T>
void pad_plane(const T* src, int64_t Hs, int64_t Ws, int64_t oh, int64_t ow, T* dst, int64_t Hd,
               int64_t Wd) {
    const int64_t lo = std::clamp<int64_t>(ow, 0, Wd);
    const int64_t hi = std::max(lo, std::clamp<int64_t>(ow + Ws, 0, Wd));
    for (int64_t r = 0; r < Hd; ++r) {
        T* d = dst + r * Wd;
        const int64_t sr = r - oh;
        if (sr < 0 || sr >= Hs) {
            std::fill(d, d + Wd, T(0));
            continue;
        }
        std::fill(d, d + lo, T(0));
        std::copy(src + sr * Ws + (lo - ow), src + sr * Ws + (hi - ow), d + lo);
        std::fill(d + hi, d + Wd, T(0));
    }
}

// out [Ho, Wo] = bias + sum_{ki, kj} w[ki, kj] P[i + ki, j + kj], P padded to [Ho + kh - 1,
// tiles(Wo) kTile + kw - 1] (row stride Wp), so a tile never reads past its row.
template <typename T>
void correlate(const T* P, int64_t Wp, const T* w, int64_t kh, int64_t kw, T bias, int64_t Ho,
               int64_t Wo, T* out) {
    for (int64_t i = 0; i < Ho; ++i)
        for (int64_t j0 = 0; j0 < Wo; j0 += kTile) {
            T acc[kTile];
            for (int64_t j = 0; j < kTile; ++j) acc[j] = bias;
            for (int64_t ki = 0; ki < kh; ++ki) {
                const T* row = P + (i + ki) * Wp + j0;
                for (int64_t kj = 0; kj < kw; ++kj) {
                    const T wt = w[ki * kw + kj];
#pragma omp simd
                    for (int64_t j = 0; j < kTile; ++j) acc[j] += wt * row[kj + j];
                }
            }
            std::copy(acc, acc + std::min(kTile, Wo - j0), out + i * Wo + j0);
        }
}

int64_t plane_grain(int64_t work_per_plane) {
    return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work_per_plane, 1));
}

}  // namespace

// y[b, c, i, j] = bias[c] + sum_{ki, kj} w[c, ki, kj] x[b, c, i - ph + ki, j - pw + kj].
void dwconv2d_fwd(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeom& g, Tensor& y) {
    const int64_t Ho = g.Ho(), Wo = g.Wo(), K = g.kh * g.kw;
    const int64_t Hp = Ho + g.kh - 1, Wp = tiles(Wo) * kTile + g.kw - 1;
    dispatch_float(x.dtype(), "conv2d", [&]<typename T>() {
        const T* xs = x.data<T>();
        const T* ws = w.data<T>();
        const T* bs = b.defined() ? b.data<T>() : nullptr;
        T* ys = y.data<T>();
        parallel_for(g.B * g.C, plane_grain(Ho * Wo * K), [&](int64_t pb, int64_t pe) {
            T* P = scratch<T>(size_t(Hp * Wp));
            for (int64_t p = pb; p < pe; ++p) {
                const int64_t c = p % g.C;
                pad_plane(xs + p * g.H * g.W, g.H, g.W, g.ph, g.pw, P, Hp, Wp);
                correlate(P, Wp, ws + c * K, g.kh, g.kw, bs ? bs[c] : T(0), Ho, Wo,
                          ys + p * Ho * Wo);
            }
        });
    });
}

// dx[b, c, h, w] = sum_{ki, kj} w[c, ki, kj] dy[b, c, h + ph - ki, w + pw - kj]: the forward's
// correlation with the kernel flipped, over dy shifted by (kh - 1 - ph, kw - 1 - pw).
void dwconv2d_bwd_input(const Tensor& dy, const Tensor& w, const ConvGeom& g, Tensor& dx) {
    const int64_t Ho = g.Ho(), Wo = g.Wo(), K = g.kh * g.kw;
    const int64_t Hp = g.H + g.kh - 1, Wp = tiles(g.W) * kTile + g.kw - 1;
    dispatch_float(dy.dtype(), "conv2d", [&]<typename T>() {
        const T* gs = dy.data<T>();
        const T* ws = w.data<T>();
        T* ds = dx.data<T>();
        parallel_for(g.B * g.C, plane_grain(g.H * g.W * K), [&](int64_t pb, int64_t pe) {
            T* P = scratch<T>(size_t(Hp * Wp));
            T flipped[kMaxTaps];
            int64_t flipped_c = -1;
            for (int64_t p = pb; p < pe; ++p) {
                const int64_t c = p % g.C;
                if (c != flipped_c) {
                    for (int64_t k = 0; k < K; ++k) flipped[k] = ws[c * K + (K - 1 - k)];
                    flipped_c = c;
                }
                pad_plane(gs + p * Ho * Wo, Ho, Wo, g.kh - 1 - g.ph, g.kw - 1 - g.pw, P, Hp, Wp);
                correlate(P, Wp, flipped, g.kh, g.kw, T(0), g.H, g.W, ds + p * g.H * g.W);
            }
        });
    });
}

// dw[c, ki, kj] = sum_{b, i, j} dy[b, c, i, j] x[b, c, i - ph + ki, j - pw + kj]. Per plane, every
// tap keeps a vector of kTile partial sums in T (one FMA per tap and tile, as the forward); the
// lanes are added into double at the end of the plane. Tasks are (channel, batch chunk) pairs
// whose partial sums are combined in a fixed order.
void dwconv2d_bwd_weight(const Tensor& x, const Tensor& dy, const ConvGeom& g, Tensor& dw) {
    const int64_t Ho = g.Ho(), Wo = g.Wo(), K = g.kh * g.kw, nt = tiles(Wo);
    const int64_t Hp = Ho + g.kh - 1, Wp = nt * kTile + g.kw - 1;
    const int64_t chunks = std::clamp<int64_t>(kWeightTasks / std::max<int64_t>(g.C, 1), 1, g.B);
    const int64_t per_chunk = (g.B + chunks - 1) / chunks;
    Tensor partial = Tensor::empty({chunks, g.C, K}, DType::F64);
    double* ps = partial.data<double>();
    dispatch_float(x.dtype(), "conv2d", [&]<typename T>() {
        const T* xs = x.data<T>();
        const T* gs = dy.data<T>();
        parallel_for(chunks * g.C, 1, [&](int64_t tb, int64_t te) {
            T* P = scratch<T>(size_t(Hp * Wp + nt * kTile + K * kTile));
            T* grow = P + Hp * Wp;         // one dy row, zero-padded to whole tiles
            T* lanes = grow + nt * kTile;  // [K, kTile] partial sums of the current plane
            for (int64_t t = tb; t < te; ++t) {
                const int64_t chunk = t / g.C, c = t % g.C;
                double acc[kMaxTaps] = {};
                for (int64_t bi = chunk * per_chunk; bi < std::min(g.B, (chunk + 1) * per_chunk);
                     ++bi) {
                    const int64_t p = bi * g.C + c;
                    pad_plane(xs + p * g.H * g.W, g.H, g.W, g.ph, g.pw, P, Hp, Wp);
                    std::fill(lanes, lanes + K * kTile, T(0));
                    std::fill(grow + Wo, grow + nt * kTile, T(0));
                    for (int64_t i = 0; i < Ho; ++i) {
                        std::copy(gs + p * Ho * Wo + i * Wo, gs + p * Ho * Wo + (i + 1) * Wo, grow);
                        for (int64_t j0 = 0; j0 < Wo; j0 += kTile)
                            for (int64_t ki = 0; ki < g.kh; ++ki) {
                                const T* row = P + (i + ki) * Wp + j0;
                                for (int64_t kj = 0; kj < g.kw; ++kj) {
                                    T* l = lanes + (ki * g.kw + kj) * kTile;
#pragma omp simd
                                    for (int64_t j = 0; j < kTile; ++j)
                                        l[j] += grow[j0 + j] * row[kj + j];
                                }
                            }
                    }
                    for (int64_t k = 0; k < K; ++k)
                        for (int64_t j = 0; j < kTile; ++j) acc[k] += double(lanes[k * kTile + j]);
                }
                std::copy(acc, acc + K, ps + t * K);
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
