// Linear: y = x W^T + b with W [out, in], initialised as timm 0.3 does (trunc-normal 0.02, bias 0).
#pragma once
#include "nn/module.h"

namespace vg::nn {

class Linear : public Module {
  public:
    Linear(int64_t in_features, int64_t out_features, bool bias = true);
    // x: [..., in] -> [..., out]
    Tensor forward(const Tensor& x) const;

    int64_t in_features, out_features;
    Tensor weight;  // [out, in]
    Tensor bias;    // [out], undefined without bias
};

}  // namespace vg::nn
