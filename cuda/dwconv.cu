// CUDA depthwise convolution (one kh x kw filter per channel, stride 1), the same formulas as
// core/cpu/dwconv.cpp: one thread per output element forward, one per input element for the input
// gradient (it gathers every tap that read it: no atomics, a fixed order), and one block per
// (channel, tap) for the weight gradient, reduced in double.
#include "cuda/kernels.h"
#include "cuda/launch.cuh"
#include "cuda/reduce.cuh"

namespace vg::cuda {

namespace {

// n = B*C*Ho*Wo. (ConvGeom's Ho()/Wo() are host functions: passed in.)
template <typename T>
__global__ void dwconv_fwd_kernel(const T* x, const T* w, const T* b, ConvGeom g, int64_t Ho,
                                  int64_t Wo, int64_t n, T* y) {
    VG_GRID_STRIDE_LOOP(e, n) {
        int64_t wo = e % Wo, ho = (e / Wo) % Ho, p = e / (Ho * Wo), c = p % g.C;
        const T* xp = x + p * g.H * g.W;
        const T* wc = w + c * g.kh * g.kw;
        T acc = b ? b[c] : T(0);
        for (int64_t ki = 0; ki < g.kh; ++ki) {
            int64_t h = ho - g.ph + ki;
            if (h < 0 || h >= g.H) continue;
            for (int64_t kj = 0; kj < g.kw; ++kj) {
                int64_t col = wo - g.pw + kj;
                if (col >= 0 && col < g.W) acc += wc[ki * g.kw + kj] * xp[h * g.W + col];
            }
        }
        y[e] = acc;
    }
}

// n = B*C*H*W.
template <typename T>
__global__ void dwconv_bwd_input_kernel(const T* dy, const T* w, ConvGeom g, int64_t Ho, int64_t Wo,
                                        int64_t n, T* dx) {
    VG_GRID_STRIDE_LOOP(e, n) {
        int64_t col = e % g.W, h = (e / g.W) % g.H, p = e / (g.H * g.W), c = p % g.C;
        const T* gp = dy + p * Ho * Wo;
        const T* wc = w + c * g.kh * g.kw;
        T acc = 0;
        for (int64_t ki = 0; ki < g.kh; ++ki) {
            int64_t ho = h + g.ph - ki;
            if (ho < 0 || ho >= Ho) continue;
            for (int64_t kj = 0; kj < g.kw; ++kj) {
                int64_t wo = col + g.pw - kj;
                if (wo >= 0 && wo < Wo) acc += wc[ki * g.kw + kj] * gp[ho * Wo + wo];
            }
        }
        dx[e] = acc;
    }
}

// Block (c, ki, kj): dw[c, ki, kj] = sum over (b, ho, wo) of dy * the input it was multiplied by.
template <typename T>
__global__ void dwconv_bwd_weight_kernel(const T* x, const T* dy, ConvGeom g, int64_t Ho,
                                         int64_t Wo, T* dw) {
    const int64_t K = g.kh * g.kw, c = blockIdx.x / K, k = blockIdx.x % K;
    const int64_t ki = k / g.kw, kj = k % g.kw, L = Ho * Wo, n = g.B * L;
    double acc = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        int64_t b = i / L, l = i % L, ho = l / Wo, wo = l % Wo;
        int64_t h = ho - g.ph + ki, col = wo - g.pw + kj;
        if (h < 0 || h >= g.H || col < 0 || col >= g.W) continue;
        int64_t p = b * g.C + c;
        acc += double(dy[p * L + l]) * double(x[(p * g.H + h) * g.W + col]);
    }
    acc = block_sum(acc);
    if (threadIdx.x == 0) dw[blockIdx.x] = T(acc);
}

}  // namespace

void dwconv2d_fwd(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeom& g, Tensor& y) {
    int64_t n = g.B * g.C * g.Ho() * g.Wo();
    if (n <= 0) return;
    dispatch_float(x.dtype(), "conv2d", [&]<typename T>() {
        launch("conv2d", "dwconv_fwd_kernel", dwconv_fwd_kernel<T>, grid_for(n), kBlock, 0,
               x.device().index, dev_ptr<T>(x), dev_ptr<T>(w),
               b.defined() ? dev_ptr<T>(b) : nullptr, g, g.Ho(), g.Wo(), n, dev_ptr<T>(y));
    });
}

void dwconv2d_bwd_input(const Tensor& dy, const Tensor& w, const ConvGeom& g, Tensor& dx) {
    int64_t n = g.B * g.C * g.H * g.W;
    if (n <= 0) return;
    dispatch_float(dy.dtype(), "conv2d", [&]<typename T>() {
        launch("conv2d", "dwconv_bwd_input_kernel", dwconv_bwd_input_kernel<T>, grid_for(n), kBlock,
               0, dy.device().index, dev_ptr<T>(dy), dev_ptr<T>(w), g, g.Ho(), g.Wo(), n,
               dev_ptr<T>(dx));
    });
}

void dwconv2d_bwd_weight(const Tensor& x, const Tensor& dy, const ConvGeom& g, Tensor& dw) {
    int64_t blocks = g.C * g.kh * g.kw;
    if (blocks <= 0) return;
    VG_CHECK(blocks < (int64_t(1) << 31), "conv2d", "too many channels ({}) for one launch", g.C);
    dispatch_float(x.dtype(), "conv2d", [&]<typename T>() {
        launch("conv2d", "dwconv_bwd_weight_kernel", dwconv_bwd_weight_kernel<T>, unsigned(blocks),
               kBlock, 0, x.device().index, dev_ptr<T>(x), dev_ptr<T>(dy), g, g.Ho(), g.Wo(),
               dev_ptr<T>(dw));
    });
}

}  // namespace vg::cuda
