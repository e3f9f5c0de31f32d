// FCViT's global-context module.
#include "nn/global_context.h"

#include <cmath>

#include "autograd/ops.h"

namespace vg::nn {

GlobalContext::GlobalContext(int64_t d, int64_t g, int64_t r) : dim(d), groups(g), reduction(r) {
    if (d <= 0 || g <= 0 || r <= 0 || d % g != 0 || d % r != 0)
        fail("GlobalContext", "dim {} must be a positive multiple of groups {} and reduction {}", d,
             g, r);
    fc1 = register_module("fc1", std::make_shared<Linear>(d, 2 * d / r));
    fc2 = register_module("fc2", std::make_shared<Linear>(d / r, d));
    rescale_weight = Tensor::ones({g});
    rescale_bias = Tensor::zeros({g});
    register_parameter("rescale_weight", &rescale_weight);
    register_parameter("rescale_bias", &rescale_bias);
}

Tensor GlobalContext::forward(const Tensor& x, ContextInternals* internals) const {
    if (x.dim() != 4 || x.size(1) != dim)
        fail("GlobalContext", "expected [B, {}, H, W], got {}", dim, x.desc());
    const int64_t B = x.size(0), H = x.size(2), W = x.size(3), N = H * W, c = dim / groups;
    if (groups * N < 2)
        fail("GlobalContext", "the unbiased std over {} groups x {} positions needs 2 values",
             groups, N);
    Tensor xs = x.reshape({B, groups, c, N});
    Tensor pooled = mean(xs, {3}, true);  // [B, G, c, 1]
    // Each position's similarity with its group's pooled vector: [B, G, 1, c] @ [B, G, c, N].
    Tensor sim =
        matmul(pooled.transpose(2, 3), xs, 1.0 / std::sqrt(double(c))).view({B, groups, N});
    sim = standardize(sim, {1, 2}, 1, eps);
    sim = sim * rescale_weight.view({1, groups, 1}) + rescale_bias.view({1, groups, 1});
    // The competition bottleneck: the elementwise max of fc1's two halves.
    Tensor u = fc1->forward(pooled.view({B, dim})).view({B, 2, dim / reduction});
    Tensor gc = fc2->forward(maximum(u.select(1, 0), u.select(1, 1)));  // [B, C]
    if (internals) {
        internals->similarity = sim.detach().view({B, groups, H, W});
        internals->context = gc.detach();
    }
    return (sim.view({B, groups, 1, N}) * gc.view({B, groups, c, 1})).view({B, dim, H, W});
}

}  // namespace vg::nn
