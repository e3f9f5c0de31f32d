// conv2d (NCHW, dilation 1, groups) by the cheapest of three paths, all computing the same thing:
//  - depthwise (groups = C = O), stride 1, kernel up to kMaxDepthwiseKernel: direct kernels
//    (core/cpu/dwconv.cpp), forward and both gradients in one recorded node;
//  - 1x1, stride 1, no padding: one GEMM over the channel axis of x viewed [B, G, C/G, H*W];
//  - anything else: im2col (a recorded op, backward col2im) and a grouped GEMM, whose weight and
//    input gradients compose from matmul's backward.
#include "autograd/ops.h"
#include "autograd/record.h"
#include "core/dispatch.h"

namespace vg {

namespace {

// x: [B, C, H, W] -> cols [B, C*kh*kw, Ho*Wo].
Tensor im2col(const Tensor& x, const ConvGeom& geom) {
    Tensor xc = x.detach().contiguous();
    Tensor cols = Tensor::empty({geom.B, geom.C * geom.kh * geom.kw, geom.Ho() * geom.Wo()},
                                x.dtype(), x.device());
    VG_DISPATCH(x.device(), im2col, xc, geom, cols);
    return record("im2col", cols, {x},
                  [geom, xs = x.shape()](const std::vector<Tensor>& g, const std::vector<bool>&) {
                      Tensor dcols = g[0].contiguous();
                      Tensor dx = Tensor::zeros(xs, dcols.dtype(), dcols.device());
                      VG_DISPATCH(dcols.device(), col2im, dcols, geom, dx);
                      return std::vector<Tensor>{dx};
                  });
}

bool direct_depthwise(const ConvGeom& g) {
    return g.G == g.C && g.O == g.C && g.sh == 1 && g.sw == 1 && g.kh <= kMaxDepthwiseKernel &&
           g.kw <= kMaxDepthwiseKernel;
}

Tensor depthwise(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeom& g) {
    Tensor xc = x.detach().contiguous(), wc = w.detach().contiguous();
    Tensor bc = b.defined() ? b.detach().contiguous() : Tensor();
    Tensor y = Tensor::empty({g.B, g.C, g.Ho(), g.Wo()}, x.dtype(), x.device());
    VG_DISPATCH(x.device(), dwconv2d_fwd, xc, wc, bc, g, y);
    // The input is needed only for the weight gradient.
    Tensor saved_x = w.requires_grad() ? xc : Tensor();
    return record(
        "conv2d_depthwise", y, {x, w, b},
        [saved_x, wc, g](const std::vector<Tensor>& grads, const std::vector<bool>& needs) {
            Tensor dy = grads[0].contiguous();
            Tensor dx, dw, db;
            if (needs[0]) {
                dx = Tensor::empty({g.B, g.C, g.H, g.W}, dy.dtype(), dy.device());
                VG_DISPATCH(dy.device(), dwconv2d_bwd_input, dy, wc, g, dx);
            }
            if (needs[1]) {
                dw = Tensor::empty(wc.shape(), dy.dtype(), dy.device());
                VG_DISPATCH(dy.device(), dwconv2d_bwd_weight, saved_x, dy, g, dw);
            }
            if (needs[2]) db = sum(dy, {0, 2, 3});
            return std::vector<Tensor>{dx, dw, db};
        });
}

ConvGeom checked_geometry(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride,
                          int64_t padding, int64_t groups) {
    check_defined("conv2d", x);
    check_defined("conv2d", w, "weight");
    check_same_device("conv2d", {&x, &w});
    check_same_dtype("conv2d", {&x, &w});
    if (!is_floating(x.dtype()))
        fail("conv2d", "expected a float32 or float64 input, got {}", x.desc());
    if (x.dim() != 4) fail("conv2d", "input must be [B, C, H, W], got {}", x.desc());
    if (w.dim() != 4) fail("conv2d", "weight must be [O, C / groups, kh, kw], got {}", w.desc());
    const int64_t C = x.shape()[1], O = w.shape()[0];
    if (groups < 1 || C % groups != 0 || O % groups != 0)
        fail("conv2d", "groups {} must be >= 1 and divide the {} input and {} output channels",
             groups, C, O);
    if (w.shape()[1] * groups != C) {
        if (groups == 1)
            fail("conv2d", "input {} has {} channels but weight {} expects {}", x.shape().str(), C,
                 w.shape().str(), w.shape()[1]);
        fail("conv2d",
             "input {} has {} channels but weight {} with groups {} expects {} ({} per group)",
             x.shape().str(), C, w.shape().str(), groups, w.shape()[1] * groups, w.shape()[1]);
    }
    if (stride < 1 || padding < 0)
        fail("conv2d", "stride must be >= 1 and padding >= 0, got stride {} padding {}", stride,
             padding);
    ConvGeom g{x.shape()[0], C,      x.shape()[2], x.shape()[3], O,       w.shape()[2],
               w.shape()[3], stride, stride,       padding,      padding, groups};
    if (g.H + 2 * padding < g.kh || g.W + 2 * padding < g.kw)
        fail("conv2d", "kernel {}x{} is larger than the padded input {} (padding {})", g.kh, g.kw,
             x.shape().str(), padding);
    if (b.defined()) {
        check_same_device("conv2d", {&x, &b});
        check_same_dtype("conv2d", {&x, &b});
        if (b.dim() != 1 || b.shape()[0] != O)
            fail("conv2d", "bias {} must be [{}] for weight {}", b.shape().str(), O,
                 w.shape().str());
    }
    return g;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t padding,
              int64_t groups) {
    const ConvGeom g = checked_geometry(x, w, b, stride, padding, groups);
    if (direct_depthwise(g)) return depthwise(x, w, b, g);
    const int64_t G = g.G, Og = g.O / G, Cg = g.C / G, K = g.kh * g.kw, L = g.Ho() * g.Wo();
    const bool pointwise = g.kh == 1 && g.kw == 1 && stride == 1 && padding == 0;
    // The channels (or columns) of group j multiply weight rows [j Og, (j+1) Og).
    Tensor in = pointwise ? x.reshape({g.B, G, Cg, L}) : im2col(x, g).view({g.B, G, Cg * K, L});
    Tensor y = G == 1 ? matmul(w.reshape({g.O, Cg * K}), in.squeeze(1))  // [B, O, L]
                      : matmul(w.reshape({G, Og, Cg * K}), in);          // [B, G, Og, L]
    y = y.reshape({g.B, g.O, L});
    if (b.defined()) y = y + b.reshape({1, g.O, 1});
    return y.reshape({g.B, g.O, g.Ho(), g.Wo()});
}

}  // namespace vg
