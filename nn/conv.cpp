// Conv2d module.
#include "nn/conv.h"

#include "autograd/ops.h"
#include "nn/init.h"

namespace vg::nn {

Conv2d::Conv2d(int64_t c, int64_t o, int64_t k, int64_t s, int64_t p, int64_t g, bool has_bias)
    : in_channels(c), out_channels(o), kernel(k), stride(s), padding(p), groups(g) {
    if (c <= 0 || o <= 0 || k <= 0 || s <= 0 || p < 0 || g <= 0 || c % g != 0 || o % g != 0)
        fail("Conv2d", "invalid config in={} out={} kernel={} stride={} padding={} groups={}", c, o,
             k, s, p, g);
    weight = Tensor::empty({o, c / g, k, k});
    init::kaiming_uniform_default_(weight);
    register_parameter("weight", &weight);
    if (has_bias) {
        bias = Tensor::empty({o});
        init::default_bias_(bias, c / g * k * k);
        register_parameter("bias", &bias);
    }
}

Tensor Conv2d::forward(const Tensor& x) const {
    return conv2d(x, weight, bias, stride, padding, groups);
}

}  // namespace vg::nn
