// Linear layer.
#include "nn/linear.h"

#include "autograd/ops.h"
#include "nn/init.h"

namespace vg::nn {

Linear::Linear(int64_t in, int64_t out, bool has_bias) : in_features(in), out_features(out) {
    if (in <= 0 || out <= 0) fail("Linear", "features must be positive, got in={} out={}", in, out);
    weight = Tensor::empty({out, in});
    init::trunc_normal_(weight, 0.02);
    register_parameter("weight", &weight);
    if (has_bias) {
        bias = Tensor::zeros({out});
        register_parameter("bias", &bias);
    }
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

}  // namespace vg::nn
