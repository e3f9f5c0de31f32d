// LayerNorm over the last dim with learned gamma (weight) and beta (bias); biased variance.
#pragma once
#include "nn/module.h"

namespace vg::nn {

class LayerNorm : public Module {
  public:
    explicit LayerNorm(int64_t dim, double eps = 1e-6);
    // x: [..., dim] -> [..., dim]
    Tensor forward(const Tensor& x) const;

    int64_t dim;
    double eps;
    Tensor weight, bias;  // [dim]
};

}  // namespace vg::nn
