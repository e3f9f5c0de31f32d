// GroupNorm layer.
#include "nn/group_norm.h"

#include "autograd/ops.h"

namespace vg::nn {

GroupNorm::GroupNorm(int64_t g, int64_t c, double e) : num_groups(g), num_channels(c), eps(e) {
    if (g <= 0 || c <= 0 || c % g != 0)
        fail("GroupNorm", "num_groups {} must be a positive divisor of num_channels {}", g, c);
    if (!(e > 0 && e < 1)) fail("GroupNorm", "eps must be in (0, 1), got {}", e);
    weight = Tensor::ones({c});
    bias = Tensor::zeros({c});
    register_parameter("weight", &weight);
    register_parameter("bias", &bias);
}

Tensor GroupNorm::forward(const Tensor& x) const {
    return group_norm(x, num_groups, weight, bias, eps);
}

}  // namespace vg::nn
