// CPU depthwise convolution (one kh x kw filter per channel, stride 1) without im2col: for every
// output row the taps are applied as whole contiguous row segments, so the innermost loop runs over
// the width and vectorises. FCViT's 11x11 depthwise convolutions and Refiner's 3x3 ones over
// attention maps go through here; the columns im2col would build are k^2 times the input.
#include <algorithm>

#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

namespace {

// Columns j in [lo, hi) of an n-wide row for which j + off lands inside an m-wide row.
struct Span {
    int64_t lo, hi;
};
Span span(int64_t n, int64_t m, int64_t off) {
    return {std::max<int64_t>(0, -off), std::min<int64_t>(n, m - off)};
}

int64_t plane_grain(int64_t work_per_plane) {
    return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work_per_plane, 1));
}

// Weight-gradient partial sums are split over at most this many batch chunks per channel: the
// chunking depends on the shape only, so the result does not depend on the thread count.
constexpr int64_t kWeightTasks = 64;

}  // namespace

// y[b, c, ho, wo] = bias[c] + sum_{ki, kj} w[c, ki, kj] x[b, c, ho - ph + ki, wo - pw + kj].
void dwconv2d_fwd(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeom& g, Tensor& y) {
    const int64_t Ho = g.Ho(), Wo = g.Wo(), K = g.kh * g.kw;
    dispatch_float(x.dtype(), "conv2d", [&]<typename T>() {
        const T* xs = x.data<T>();
        const T* ws = w.data<T>();
        const T* bs = b.defined() ? b.data<T>() : nullptr;
        T* ys = y.data<T>();
        parallel_for(g.B * g.C, plane_grain(Ho * Wo * K), [&](int64_t pb, int64_t pe) {
            for (int64_t p = pb; p < pe; ++p) {
                const int64_t c = p % g.C;
                const T* xp = xs + p * g.H * g.W;
                const T* wc = ws + c * K;
                T* yp = ys + p * Ho * Wo;
                for (int64_t ho = 0; ho < Ho; ++ho) {
                    T* yr = yp + ho * Wo;
                    std::fill(yr, yr + Wo, bs ? bs[c] : T(0));
                    for (int64_t ki = 0; ki < g.kh; ++ki) {
                        const int64_t h = ho - g.ph + ki;
                        if (h < 0 || h >= g.H) continue;
                        const T* xr = xp + h * g.W;
                        for (int64_t kj = 0; kj < g.kw; ++kj) {
                            const T wt = wc[ki * g.kw + kj];
                            const int64_t off = kj - g.pw;
                            const Span s = span(Wo, g.W, off);
#pragma omp simd
                            for (int64_t j = s.lo; j < s.hi; ++j) yr[j] += wt * xr[j + off];
                        }
                    }
                }
            }
        });
    });
}

// dx[b, c, h, w] = sum_{ki, kj} w[c, ki, kj] dy[b, c, h + ph - ki, w + pw - kj] (the adjoint).
void dwconv2d_bwd_input(const Tensor& dy, const Tensor& w, const ConvGeom& g, Tensor& dx) {
    const int64_t Ho = g.Ho(), Wo = g.Wo(), K = g.kh * g.kw;
    dispatch_float(dy.dtype(), "conv2d", [&]<typename T>() {
        const T* gs = dy.data<T>();
        const T* ws = w.data<T>();
        T* ds = dx.data<T>();
        parallel_for(g.B * g.C, plane_grain(g.H * g.W * K), [&](int64_t pb, int64_t pe) {
            for (int64_t p = pb; p < pe; ++p) {
                const int64_t c = p % g.C;
                const T* gp = gs + p * Ho * Wo;
                const T* wc = ws + c * K;
                T* dp = ds + p * g.H * g.W;
                for (int64_t h = 0; h < g.H; ++h) {
                    T* dr = dp + h * g.W;
                    std::fill(dr, dr + g.W, T(0));
                    for (int64_t ki = 0; ki < g.kh; ++ki) {
                        const int64_t ho = h + g.ph - ki;
                        if (ho < 0 || ho >= Ho) continue;
                        const T* gr = gp + ho * Wo;
                        for (int64_t kj = 0; kj < g.kw; ++kj) {
                            const T wt = wc[ki * g.kw + kj];
                            const int64_t off = g.pw - kj;
                            const Span s = span(g.W, Wo, off);
#pragma omp simd
                            for (int64_t j = s.lo; j < s.hi; ++j) dr[j] += wt * gr[j + off];
                        }
                    }
                }
            }
        });
    });
}

// dw[c, ki, kj] = sum_{b, ho, wo} dy[b, c, ho, wo] x[b, c, ho - ph + ki, wo - pw + kj]. Each row
// segment's dot product runs in T (vectorised) and is accumulated in double; tasks are (channel,
// batch chunk) pairs whose partial sums are combined in a fixed order.
void dwconv2d_bwd_weight(const Tensor& x, const Tensor& dy, const ConvGeom& g, Tensor& dw) {
    const int64_t Ho = g.Ho(), Wo = g.Wo(), K = g.kh * g.kw;
    const int64_t chunks = std::clamp<int64_t>(kWeightTasks / std::max<int64_t>(g.C, 1), 1, g.B);
    const int64_t per_chunk = (g.B + chunks - 1) / chunks;
    Tensor partial = Tensor::empty({chunks, g.C, K}, DType::F64);
    double* ps = partial.data<double>();
    dispatch_float(x.dtype(), "conv2d", [&]<typename T>() {
        const T* xs = x.data<T>();
        const T* gs = dy.data<T>();
        parallel_for(chunks * g.C, 1, [&](int64_t tb, int64_t te) {
            for (int64_t t = tb; t < te; ++t) {
                const int64_t chunk = t / g.C, c = t % g.C;
                double acc[kMaxDepthwiseKernel * kMaxDepthwiseKernel] = {};
                const int64_t b1 = std::min(g.B, (chunk + 1) * per_chunk);
                for (int64_t bi = chunk * per_chunk; bi < b1; ++bi) {
                    const T* xp = xs + (bi * g.C + c) * g.H * g.W;
                    const T* gp = gs + (bi * g.C + c) * Ho * Wo;
                    for (int64_t ho = 0; ho < Ho; ++ho) {
                        const T* gr = gp + ho * Wo;
                        for (int64_t ki = 0; ki < g.kh; ++ki) {
                            const int64_t h = ho - g.ph + ki;
                            if (h < 0 || h >= g.H) continue;
                            const T* xr = xp + h * g.W;
                            for (int64_t kj = 0; kj < g.kw; ++kj) {
                                const int64_t off = kj - g.pw;
                                const Span s = span(Wo, g.W, off);
                                T dot = 0;
#pragma omp simd reduction(+ : dot)
                                for (int64_t j = s.lo; j < s.hi; ++j) dot += gr[j] * xr[j + off];
                                acc[ki * g.kw + kj] += double(dot);
                            }
                        }
                    }
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
