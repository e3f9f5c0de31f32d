// Parameter-free layers whose behaviour depends on train/eval mode: Dropout and DropPath
// (stochastic depth), plus GELU for symmetry with timm's module tree.
#pragma once
#include "nn/module.h"

namespace vg::nn {

class Dropout : public Module {
  public:
    explicit Dropout(double p = 0.0);
    Tensor forward(const Tensor& x) const;  // identity in eval or when p == 0
    bool active() const { return p != 0.0 && is_training(); }
    double p;
};

// Zeroes whole samples (dim 0) of a residual branch with probability p, scaling survivors.
class DropPath : public Module {
  public:
    explicit DropPath(double p = 0.0);
    Tensor forward(const Tensor& x) const;  // identity in eval or when p == 0
    double p;
};

// Exact (erf) GELU.
class GELU : public Module {
  public:
    Tensor forward(const Tensor& x) const;
};

}  // namespace vg::nn
