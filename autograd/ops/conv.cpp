// conv2d as im2col + GEMM: im2col is a recorded op of its own (backward col2im) and the GEMM is
// the matmul op, so the weight and input gradients compose from their backwards.
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

}  // namespace

// x [B, C, H, W], w [O, C, kh, kw], b [O] (optional) -> [B, O, Ho, Wo].
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t padding) {
    check_defined("conv2d", x);
    check_defined("conv2d", w, "weight");
    check_same_device("conv2d", {&x, &w});
    check_same_dtype("conv2d", {&x, &w});
    if (!is_floating(x.dtype()))
        fail("conv2d", "expected a float32 or float64 input, got {}", x.desc());
    if (x.dim() != 4) fail("conv2d", "input must be [B, C, H, W], got {}", x.desc());
    if (w.dim() != 4) fail("conv2d", "weight must be [O, C, kh, kw], got {}", w.desc());
    if (x.shape()[1] != w.shape()[1])
        fail("conv2d", "input {} has {} channels but weight {} expects {}", x.shape().str(),
             x.shape()[1], w.shape().str(), w.shape()[1]);
    if (stride < 1 || padding < 0)
        fail("conv2d", "stride must be >= 1 and padding >= 0, got stride {} padding {}", stride,
             padding);
    ConvGeom g{x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3], w.shape()[0], w.shape()[2],
               w.shape()[3], stride,       stride,       padding,      padding};
    if (g.H + 2 * padding < g.kh || g.W + 2 * padding < g.kw)
        fail("conv2d", "kernel {}x{} is larger than the padded input {} (padding {})", g.kh, g.kw,
             x.shape().str(), padding);
    if (b.defined()) {
        check_same_device("conv2d", {&x, &b});
        check_same_dtype("conv2d", {&x, &b});
        if (b.dim() != 1 || b.shape()[0] != g.O)
            fail("conv2d", "bias {} must be [{}] for weight {}", b.shape().str(), g.O,
                 w.shape().str());
    }
    Tensor cols = im2col(x, g);                                    // [B, C*kh*kw, L]
    Tensor y = matmul(w.reshape({g.O, g.C * g.kh * g.kw}), cols);  // [B, O, L]
    if (b.defined()) y = y + b.reshape({1, g.O, 1});
    return y.reshape({g.B, g.O, g.Ho(), g.Wo()});
}

}  // namespace vg
