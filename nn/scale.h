// Per-channel scale (LayerScale, Touvron et al. 2021 "Going deeper with image transformers"):
// y = gamma * x along one channel dim, gamma initialised to a small constant. Refiner's MLP ends
// with one (init 1e-5, named `mlp.scale_channel` in the released code), FCViT's blocks use two.
#pragma once
#include "nn/module.h"

namespace vg::nn {

// x * gamma with gamma [C] broadcast along dim `channel_dim` of x (negative counts from the end).
Tensor scale_channels(const Tensor& x, const Tensor& gamma, int64_t channel_dim = -1);

// timm's LayerScale layout: one parameter `gamma` [dim].
class LayerScale : public Module {
  public:
    explicit LayerScale(int64_t dim, double init = 1e-5, int64_t channel_dim = -1);
    Tensor forward(const Tensor& x) const;

    int64_t dim, channel_dim;
    Tensor gamma;  // [dim]
};

}  // namespace vg::nn
