// BatchNorm2d with PyTorch's names: parameters `weight` (1) and `bias` (0), buffers `running_mean`
// (0), `running_var` (1) and `num_batches_tracked` (int64 scalar). Training normalises with the
// batch statistics and updates the running ones; eval uses the running statistics.
#pragma once
#include "nn/module.h"

namespace vg::nn {

class BatchNorm2d : public Module {
  public:
    explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1);
    // x: [B, C, H, W] (or [B, C]) -> the same shape.
    Tensor forward(const Tensor& x) const;

    int64_t num_features;
    double eps, momentum;
    Tensor weight, bias;                                    // [C]
    Tensor running_mean, running_var, num_batches_tracked;  // [C], [C], int64 []
};

}  // namespace vg::nn
