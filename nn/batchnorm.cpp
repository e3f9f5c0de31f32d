// BatchNorm2d module.
#include "nn/batchnorm.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace vg::nn {

BatchNorm2d::BatchNorm2d(int64_t c, double e, double m) : num_features(c), eps(e), momentum(m) {
    if (c <= 0) fail("BatchNorm2d", "num_features must be positive, got {}", c);
    if (!(e >= 0) || !(m >= 0 && m <= 1))
        fail("BatchNorm2d", "eps must be >= 0 and momentum in [0, 1], got eps {} momentum {}", e,
             m);
    weight = Tensor::ones({c});
    bias = Tensor::zeros({c});
    running_mean = Tensor::zeros({c});
    running_var = Tensor::ones({c});
    num_batches_tracked = Tensor::zeros({}, DType::I64);
    register_parameter("weight", &weight);
    register_parameter("bias", &bias);
    register_buffer("running_mean", &running_mean);
    register_buffer("running_var", &running_var);
    register_buffer("num_batches_tracked", &num_batches_tracked);
}

Tensor BatchNorm2d::forward(const Tensor& x) const {
    if (x.dim() != 4 && x.dim() != 2)
        fail("BatchNorm2d", "expected input [B, {}, H, W] or [B, {}], got {}", num_features,
             num_features, x.desc());
    if (is_training()) {
        // Bookkeeping only (the momentum is fixed); on CUDA reading the count waits for the device.
        NoGradGuard ng;
        Tensor count = num_batches_tracked;
        count.fill_(count.item() + 1);
    }
    return batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps);
}

}  // namespace vg::nn
