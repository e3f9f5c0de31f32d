// CPU im2col / col2im: unfold convolution windows into columns so that a 2-D convolution is one
// GEMM, and fold column gradients back onto the input.
#include <algorithm>

#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

// x [B, C, H, W] -> cols [B, C*kh*kw, Ho*Wo]; row (c, ki, kj) holds x[c, ho*sh - ph + ki,
// wo*sw - pw + kj] for every output position, zero where the window hangs over the padding.
void im2col(const Tensor& x, const ConvGeom& g, Tensor& cols) {
    dispatch_float(x.dtype(), "im2col", [&]<typename T>() {
        const T* xs = x.data<T>();
        T* cs = cols.data<T>();
        int64_t Ho = g.Ho(), Wo = g.Wo(), K = g.kh * g.kw, L = Ho * Wo;
        int64_t rows = g.B * g.C * K;
        parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(L, 1)),
                     [&](int64_t b, int64_t e) {
                         for (int64_t r = b; r < e; ++r) {
                             int64_t bc = r / K, k = r % K, ki = k / g.kw, kj = k % g.kw;
                             const T* plane = xs + bc * g.H * g.W;
                             T* out = cs + r * L;
                             for (int64_t ho = 0; ho < Ho; ++ho) {
                                 int64_t h = ho * g.sh - g.ph + ki;
                                 T* orow = out + ho * Wo;
                                 if (h < 0 || h >= g.H) {
                                     std::fill(orow, orow + Wo, T(0));
                                     continue;
                                 }
                                 const T* xrow = plane + h * g.W;
                                 for (int64_t wo = 0; wo < Wo; ++wo) {
                                     int64_t w = wo * g.sw - g.pw + kj;
                                     orow[wo] = (w >= 0 && w < g.W) ? xrow[w] : T(0);
                                 }
                             }
                         }
                     });
    });
}

// The adjoint of im2col: dx[b, c, h, w] += every column entry that read x[b, c, h, w]. One task
// owns one (b, c) plane, so overlapping windows never race.
void col2im(const Tensor& cols, const ConvGeom& g, Tensor& dx) {
    dispatch_float(dx.dtype(), "col2im", [&]<typename T>() {
        const T* cs = cols.data<T>();
        T* ds = dx.data<T>();
        int64_t Ho = g.Ho(), Wo = g.Wo(), K = g.kh * g.kw, L = Ho * Wo;
        parallel_for(g.B * g.C, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(K * L, 1)),
                     [&](int64_t b, int64_t e) {
                         for (int64_t bc = b; bc < e; ++bc) {
                             T* plane = ds + bc * g.H * g.W;
                             for (int64_t k = 0; k < K; ++k) {
                                 int64_t ki = k / g.kw, kj = k % g.kw;
                                 const T* in = cs + (bc * K + k) * L;
                                 for (int64_t ho = 0; ho < Ho; ++ho) {
                                     int64_t h = ho * g.sh - g.ph + ki;
                                     if (h < 0 || h >= g.H) continue;
                                     T* drow = plane + h * g.W;
                                     const T* irow = in + ho * Wo;
                                     for (int64_t wo = 0; wo < Wo; ++wo) {
                                         int64_t w = wo * g.sw - g.pw + kj;
                                         if (w >= 0 && w < g.W) drow[w] += irow[wo];
                                     }
                                 }
                             }
                         }
                     });
    });
}

}  // namespace vg::cpu
