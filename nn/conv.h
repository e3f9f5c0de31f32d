// Conv2d (timm / PyTorch names `weight` [O, C / groups, k, k] and `bias` [O]) with PyTorch's
// default init: kaiming_uniform(a = sqrt(5)), i.e. U(+-1/sqrt(fan_in)) with fan_in = C / groups
// * k * k, and the same bound for the bias.
#pragma once
#include "nn/module.h"

namespace vg::nn {

class Conv2d : public Module {
  public:
    Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1,
           int64_t padding = 0, int64_t groups = 1, bool bias = true);
    // x: [B, C, H, W] -> [B, O, Ho, Wo] through the conv2d op (which picks its fastest path).
    Tensor forward(const Tensor& x) const;

    int64_t in_channels, out_channels, kernel, stride, padding, groups;
    Tensor weight;  // [O, C / groups, k, k]
    Tensor bias;    // [O], undefined without bias
};

}  // namespace vg::nn
