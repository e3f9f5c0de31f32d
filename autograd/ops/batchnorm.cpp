// batch_norm over dim 1 (NCHW and [B, C]): batch statistics in training, running statistics in
// eval, with PyTorch's running-average update. The kernels see x as [B, C, S].
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "autograd/ops/channel_vector.h"
#include "autograd/record.h"
#include "core/dispatch.h"

namespace vg {

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                  Tensor running_var, bool training, double momentum, double eps) {
    check_defined("batch_norm", x);
    if (!is_floating(x.dtype()))
        fail("batch_norm", "expected a float32 or float64 input, got {}", x.desc());
    if (x.dim() < 2) fail("batch_norm", "input must be [B, C, ...], got {}", x.desc());
    const int64_t B = x.shape()[0], C = x.shape()[1];
    int64_t S = 1;
    for (int d = 2; d < x.dim(); ++d) S *= x.shape()[d];
    check_channel_vector("batch_norm", x, weight, C, "weight");
    check_channel_vector("batch_norm", x, bias, C, "bias");
    check_channel_vector("batch_norm", x, running_mean, C, "running_mean");
    check_channel_vector("batch_norm", x, running_var, C, "running_var");
    if (running_mean.defined() != running_var.defined())
        fail("batch_norm", "running_mean and running_var must be given together");
    if (!(momentum >= 0 && momentum <= 1))
        fail("batch_norm", "momentum must be in [0, 1], got {}", momentum);
    if (!(eps >= 0)) fail("batch_norm", "eps must be non-negative, got {}", eps);
    const bool batch_stats = training || !running_mean.defined();
    if (batch_stats && B * S < 2)
        fail("batch_norm",
             "batch statistics need more than 1 value per channel, got input {} (use eval mode "
             "with running statistics)",
             x.desc());

    Tensor x3 = x.detach().contiguous().view({B, C, S});
    Tensor mean, rstd;
    {
        NoGradGuard ng;
        Tensor var;
        if (batch_stats) {
            mean = Tensor::empty({C}, x.dtype(), x.device());
            var = Tensor::empty({C}, x.dtype(), x.device());
            VG_DISPATCH(x.device(), batchnorm_stats, x3, mean, var);
            if (training && running_mean.defined()) {
                // PyTorch keeps the unbiased variance in the running estimate.
                const double n = double(B * S);
                running_mean.mul_(1 - momentum).add_(mean, momentum);
                running_var.mul_(1 - momentum).add_(var, momentum * n / (n - 1));
            }
        } else {
            mean = running_mean.detach().clone();
            var = running_var.detach();
        }
        rstd = rsqrt(var + eps);
    }
    Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
    Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    Tensor y3 = y.view({B, C, S});
    VG_DISPATCH(x.device(), batchnorm_fwd, x3, mean, rstd, wc, bc, y3);
    return record("batch_norm", y, {x, weight, bias},
                  [x3, mean, rstd, wc, batch_stats, xs = x.shape()](
                      const std::vector<Tensor>& g, const std::vector<bool>& needs) {
                      Tensor dy = g[0].contiguous().view(x3.shape());
                      Tensor dx, dw, db;
                      if (needs[0]) dx = Tensor::empty(x3.shape(), dy.dtype(), dy.device());
                      if (needs[1]) dw = Tensor::empty(mean.shape(), dy.dtype(), dy.device());
                      if (needs[2]) db = Tensor::empty(mean.shape(), dy.dtype(), dy.device());
                      VG_DISPATCH(dy.device(), batchnorm_bwd, x3, mean, rstd, wc, dy, batch_stats,
                                  dx, dw, db);
                      return std::vector<Tensor>{dx.defined() ? dx.view(xs) : dx, dw, db};
                  });
}

}  // namespace vg
