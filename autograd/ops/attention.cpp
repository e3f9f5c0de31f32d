// gated_mix: GPSA's per-head blend of content and positional attention, renormalised per row
// (ConViT, d'Ascoli et al. 2021, Eqs. 6-7). Fused because the composite form, (1 - g) c + g p, a
// row sum and a division, is five passes over [B, H, N, N] forward and as many backward.
#include "autograd/ops.h"
#include "autograd/record.h"
#include "core/dispatch.h"

namespace vg {

Tensor gated_mix(const Tensor& content, const Tensor& positional, const Tensor& gate,
                 bool normalize) {
    const char* op = "gated_mix";
    check_defined(op, content, "content");
    check_defined(op, positional, "positional");
    check_defined(op, gate, "gate");
    check_same_device(op, {&content, &positional, &gate});
    check_same_dtype(op, {&content, &positional, &gate});
    if (!is_floating(content.dtype()))
        fail(op, "expected float32 or float64 tensors, got {}", content.desc());
    if (content.dim() != 4) fail(op, "content must be [B, H, N, M], got {}", content.desc());
    const int64_t B = content.size(0), H = content.size(1), N = content.size(2),
                  M = content.size(3);
    if (positional.shape() != Shape{H, N, M})
        fail(op, "positional must be [{}, {}, {}] to match content {}, got {}", H, N, M,
             content.desc(), positional.desc());
    if (gate.shape() != Shape{H})
        fail(op, "gate must be [{}] (one value per head of content {}), got {}", H, content.desc(),
             gate.desc());
    Tensor c = content.detach().contiguous();
    Tensor p = positional.detach().contiguous();
    Tensor g = gate.detach().contiguous();
    Tensor y = Tensor::empty(content.shape(), content.dtype(), content.device());
    Tensor s = normalize ? Tensor::empty({B, H, N}, content.dtype(), content.device()) : Tensor();
    VG_DISPATCH(c.device(), gated_mix_fwd, c, p, g, normalize, B, H, N, M, y, s);
    // The backward reads y through its own handle (y itself gets the grad_fn: no cycle).
    return record(op, y, {content, positional, gate},
                  [c, p, g, ys = y.detach(), s, normalize, B, H, N, M](
                      const std::vector<Tensor>& grads, const std::vector<bool>&) {
                      Tensor dy = grads[0].contiguous();
                      Tensor dc = Tensor::empty(c.shape(), c.dtype(), c.device());
                      Tensor dp = Tensor::empty(p.shape(), p.dtype(), p.device());
                      Tensor dg_rows = Tensor::empty({H, N}, c.dtype(), c.device());
                      VG_DISPATCH(c.device(), gated_mix_bwd, c, p, g, ys, s, dy, normalize, B, H, N,
                                  M, dc, dp, dg_rows);
                      return std::vector<Tensor>{dc, dp, sum(dg_rows, {1})};
                  });
}

}  // namespace vg
