// Transformer MLP: fc1 -> GELU -> dropout -> fc2 -> dropout (timm's Mlp names).
#pragma once
#include <memory>

#include "nn/dropout.h"
#include "nn/linear.h"

namespace vg::nn {

class Mlp : public Module {
  public:
    Mlp(int64_t in_features, int64_t hidden_features, double drop = 0.0);
    // x: [..., C] -> [..., C]
    Tensor forward(const Tensor& x) const;

    std::shared_ptr<Linear> fc1, fc2;
    std::shared_ptr<GELU> act;
    std::shared_ptr<Dropout> drop;
};

}  // namespace vg::nn
