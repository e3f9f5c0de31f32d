// GroupNorm with PyTorch's names: `weight` (1) and `bias` (0), [C]. FCViT uses one group, a
// LayerNorm over (C, H, W) with per-channel affine parameters (ma-xu/FCViT models/fcvit.py).
#pragma once
#include "nn/module.h"

namespace vg::nn {

class GroupNorm : public Module {
  public:
    GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5);
    // x: [B, C, ...] -> the same shape.
    Tensor forward(const Tensor& x) const;

    int64_t num_groups, num_channels;
    double eps;
    Tensor weight, bias;  // [C]
};

}  // namespace vg::nn
