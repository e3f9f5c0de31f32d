// group_norm over the channels of each sample in G groups (FCViT's GroupNorm has 1 group, a
// LayerNorm over (C, H, W)), and standardize, the per-set standardisation of FCViT's global
// context (mean and unbiased std, epsilon added to the std). The group_norm kernels see x as
// [B, C, S].
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "autograd/ops/channel_vector.h"
#include "autograd/record.h"
#include "core/dispatch.h"

namespace vg {

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias,
                  double eps) {
    check_defined("group_norm", x);
    if (!is_floating(x.dtype()))
        fail("group_norm", "expected a float32 or float64 input, got {}", x.desc());
    if (x.dim() < 2) fail("group_norm", "input must be [B, C, ...], got {}", x.desc());
    const int64_t B = x.shape()[0], C = x.shape()[1];
    if (num_groups < 1 || C % num_groups != 0)
        fail("group_norm", "num_groups must be a positive divisor of the {} channels of {}, got {}",
             C, x.desc(), num_groups);
    if (!(eps >= 0)) fail("group_norm", "eps must be non-negative, got {}", eps);
    check_channel_vector("group_norm", x, weight, C, "weight");
    check_channel_vector("group_norm", x, bias, C, "bias");
    int64_t S = 1;
    for (int d = 2; d < x.dim(); ++d) S *= x.shape()[d];
    Tensor x3 = x.detach().contiguous().view({B, C, S});
    Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
    Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
    Tensor y = Tensor::empty({B, C, S}, x.dtype(), x.device());
    Tensor mean = Tensor::empty({B, num_groups}, x.dtype(), x.device());
    Tensor rstd = Tensor::empty({B, num_groups}, x.dtype(), x.device());
    VG_DISPATCH(x.device(), groupnorm_fwd, x3, wc, bc, num_groups, eps, y, mean, rstd);
    return record("group_norm", y.view(x.shape()), {x, weight, bias},
                  [x3, wc, mean, rstd, num_groups, shape = x.shape()](
                      const std::vector<Tensor>& g, const std::vector<bool>& needs) {
                      Tensor dy = g[0].contiguous().view(x3.shape());
                      Tensor dx, dw, db;
                      if (needs[0]) dx = Tensor::empty(x3.shape(), x3.dtype(), x3.device());
                      const int64_t C = x3.shape()[1];
                      if (needs[1]) dw = Tensor::empty({C}, x3.dtype(), x3.device());
                      if (needs[2]) db = Tensor::empty({C}, x3.dtype(), x3.device());
                      VG_DISPATCH(x3.device(), groupnorm_bwd, x3, wc, mean, rstd, dy, num_groups,
                                  dx, dw, db);
                      return std::vector<Tensor>{dx.defined() ? dx.view(shape) : dx, dw, db};
                  });
}

Tensor standardize(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction,
                   double eps) {
    check_defined("standardize", x);
    if (!is_floating(x.dtype()))
        fail("standardize", "expected a float32 or float64 input, got {}", x.desc());
    if (correction != 0 && correction != 1)
        fail("standardize", "correction must be 0 (biased) or 1 (unbiased), got {}", correction);
    if (!(eps >= 0)) fail("standardize", "eps must be non-negative, got {}", eps);
    for (int64_t d : dims)
        if (d < -x.dim() || d >= x.dim())
            fail("standardize", "dim {} is out of range for {}", d, x.desc());
    Tensor xd = x.detach(), y, xc, sd, denom;
    int64_t n = 0;
    {
        NoGradGuard no_grad;
        Tensor mu = mean(xd, dims, true);  // validates the dims
        n = mu.numel() ? x.numel() / mu.numel() : 0;
        if (n <= correction)
            fail("standardize", "{} needs more than {} element(s) per set over dims of {}, got {}",
                 correction ? "the unbiased std" : "the std", correction, x.desc(), n);
        xc = xd - mu;
        sd = sqrt(sum(xc * xc, dims, true) * (1.0 / double(n - correction)));
        denom = sd + eps;
        y = xc / denom;
    }
    // y = xc / d with xc = x - mean, d = sd + eps, sd^2 = sum(xc^2) / (n - k):
    // dx = (g - mean(g)) / d - xc * sum(g * xc) / (d^2 * sd * (n - k)), whose second term is
    // taken as 0 where sd = 0 (then xc = 0 too: std is not differentiable there).
    return record("standardize", y, {x},
                  [xc, sd, denom, dims, k = double(n - correction)](const std::vector<Tensor>& g,
                                                                    const std::vector<bool>&) {
                      const Tensor& dy = g[0];
                      Tensor along = sum(dy * xc, dims, true) / (denom * denom * sd * k);
                      Tensor coef = where(gt(sd, Tensor::scalar(0, sd.dtype(), sd.device())), along,
                                          Tensor::scalar(0, sd.dtype(), sd.device()));
                      return std::vector<Tensor>{(dy - mean(dy, dims, true)) / denom - xc * coef};
                  });
}

}  // namespace vg
