// LayerNorm layer (gamma = 1, beta = 0 at init).
#include "nn/layer_norm.h"

#include "autograd/ops.h"

namespace vg::nn {

LayerNorm::LayerNorm(int64_t d, double e) : dim(d), eps(e) {
    if (d <= 0) fail("LayerNorm", "dim must be positive, got {}", d);
    if (!(e > 0 && e < 1)) fail("LayerNorm", "eps must be in (0, 1), got {}", e);
    weight = Tensor::ones({d});
    bias = Tensor::zeros({d});
    register_parameter("weight", &weight);
    register_parameter("bias", &bias);
}

Tensor LayerNorm::forward(const Tensor& x) const { return layer_norm(x, weight, bias, eps); }

}  // namespace vg::nn
