// CUDA im2col / col2im for 2-D convolution as a GEMM: one thread per column entry to unfold,
// and one thread per input pixel to fold back (it sums every window entry that read it, so no
// atomics and a fixed summation order).
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace vg::cuda {

namespace {

// cols[b, (c*kh + ki)*kw + kj, ho*Wo + wo] = x[b, c, ho*sh - ph + ki, wo*sw - pw + kj], or 0 in
// the padding. n = B*C*kh*kw*Ho*Wo. (ConvGeom's Ho()/Wo() are host functions: passed in.)
template <typename T>
__global__ void im2col_kernel(const T* x, ConvGeom g, int64_t Ho, int64_t Wo, int64_t n, T* cols) {
    int64_t L = Ho * Wo, K = g.kh * g.kw;
    VG_GRID_STRIDE_LOOP(e, n) {
        int64_t l = e % L, row = e / L;  // row = (b*C + c)*K + k
        int64_t k = row % K, bc = row / K;
        int64_t ho = l / Wo, wo = l % Wo, ki = k / g.kw, kj = k % g.kw;
        int64_t h = ho * g.sh - g.ph + ki, w = wo * g.sw - g.pw + kj;
        cols[e] = (h >= 0 && h < g.H && w >= 0 && w < g.W) ? x[(bc * g.H + h) * g.W + w] : T(0);
    }
}

// dx[b, c, h, w] += sum over (ki, kj) with h = ho*sh - ph + ki, w = wo*sw - pw + kj of
// cols[b, (c*kh + ki)*kw + kj, ho*Wo + wo]. n = B*C*H*W.
template <typename T>
__global__ void col2im_kernel(const T* cols, ConvGeom g, int64_t Ho, int64_t Wo, int64_t n, T* dx) {
    int64_t L = Ho * Wo, K = g.kh * g.kw;
    VG_GRID_STRIDE_LOOP(e, n) {
        int64_t w = e % g.W, h = (e / g.W) % g.H, bc = e / (g.H * g.W);
        T acc = 0;
        for (int64_t ki = 0; ki < g.kh; ++ki) {
            int64_t hs = h + g.ph - ki;  // = ho * sh
            if (hs < 0 || hs % g.sh != 0 || hs / g.sh >= Ho) continue;
            int64_t ho = hs / g.sh;
            for (int64_t kj = 0; kj < g.kw; ++kj) {
                int64_t ws = w + g.pw - kj;
                if (ws < 0 || ws % g.sw != 0 || ws / g.sw >= Wo) continue;
                acc += cols[((bc * K) + ki * g.kw + kj) * L + ho * Wo + ws / g.sw];
            }
        }
        dx[e] += acc;
    }
}

}  // namespace

void im2col(const Tensor& x, const ConvGeom& g, Tensor& cols) {
    int64_t n = g.B * g.C * g.kh * g.kw * g.Ho() * g.Wo();
    if (n <= 0) return;
    dispatch_float(x.dtype(), "im2col", [&]<typename T>() {
        launch("conv2d", "im2col_kernel", im2col_kernel<T>, grid_for(n), kBlock, 0,
               x.device().index, dev_ptr<T>(x), g, g.Ho(), g.Wo(), n, dev_ptr<T>(cols));
    });
}

void col2im(const Tensor& cols, const ConvGeom& g, Tensor& dx) {
    int64_t n = g.B * g.C * g.H * g.W;
    if (n <= 0 || g.Ho() <= 0 || g.Wo() <= 0) return;
    dispatch_float(dx.dtype(), "col2im", [&]<typename T>() {
        launch("conv2d", "col2im_kernel", col2im_kernel<T>, grid_for(n), kBlock, 0,
               dx.device().index, dev_ptr<T>(cols), g, g.Ho(), g.Wo(), n, dev_ptr<T>(dx));
    });
}

}  // namespace vg::cuda
