// layer_norm over the last dim: the kernel saves the row mean and 1/std for its backward.
#include "autograd/ops.h"
#include "autograd/record.h"
#include "core/dispatch.h"

namespace vg {

Tensor layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
    check_defined("layer_norm", x);
    if (!is_floating(x.dtype()))
        fail("layer_norm", "expected a float32 or float64 tensor, got {}", x.desc());
    if (x.dim() == 0) fail("layer_norm", "input needs at least 1 dim, got {}", x.desc());
    if (eps < 0) fail("layer_norm", "eps must be non-negative, got {}", eps);
    int64_t C = x.shape().back();
    for (const Tensor* p : {&w, &b}) {
        if (!p->defined()) continue;
        check_same_device("layer_norm", {&x, p});
        check_same_dtype("layer_norm", {&x, p});
        if (p->dim() != 1 || p->shape()[0] != C)
            fail("layer_norm", "{} must be [{}] to match the last dim of {}, got {}",
                 p == &w ? "weight" : "bias", C, x.desc(), p->desc());
    }
    // x: [R, C] rows; w, b: [C].
    Tensor xc = x.detach().contiguous();
    Tensor wc = w.defined() ? w.detach().contiguous() : Tensor();
    Tensor bc = b.defined() ? b.detach().contiguous() : Tensor();
    int64_t R = C ? x.numel() / C : 0;
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    Tensor mean = Tensor::empty({R}, x.dtype(), x.device());
    Tensor rstd = Tensor::empty({R}, x.dtype(), x.device());
    VG_DISPATCH(x.device(), layernorm_fwd, xc, wc, bc, eps, y, mean, rstd);
    return record(
        "layer_norm", y, {x, w, b},
        [xc, wc, mean, rstd, C](const std::vector<Tensor>& g, const std::vector<bool>& needs) {
            Tensor dy = g[0].contiguous();
            Tensor dx, dw, db;
            if (needs[0]) dx = Tensor::empty(xc.shape(), xc.dtype(), xc.device());
            if (needs[1]) dw = Tensor::zeros({C}, xc.dtype(), xc.device());
            if (needs[2]) db = Tensor::zeros({C}, xc.dtype(), xc.device());
            VG_DISPATCH(xc.device(), layernorm_bwd, xc, wc, mean, rstd, dy, dx, dw, db);
            return std::vector<Tensor>{dx, dw, db};
        });
}

}  // namespace vg
