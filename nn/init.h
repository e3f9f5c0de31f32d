// Parameter initialisers (timm 0.3 / PyTorch defaults). Each overwrites `t` in place from the
// global generator (vg::manual_seed) and keeps its shape, dtype, device and requires_grad.
#pragma once
#include "core/tensor.h"

namespace vg::nn {
class Module;
}

namespace vg::nn::init {

// N(mean, std^2) truncated to the absolute interval [a, b] (timm's trunc_normal_).
void trunc_normal_(Tensor& t, double std = 0.02, double mean = 0.0, double a = -2.0,
                   double b = 2.0);
void uniform_(Tensor& t, double lo, double hi);
void normal_(Tensor& t, double mean, double std);  // untruncated N(mean, std^2)
void zeros_(Tensor& t);
void ones_(Tensor& t);
void constant_(Tensor& t, double value);
// U(-g*sqrt(6/(fan_in+fan_out)), +...) over a [out, in, ...] weight.
void xavier_uniform_(Tensor& t, double gain = 1.0);
// PyTorch's default nn.Linear / nn.Conv2d init: kaiming_uniform(a=sqrt(5)) on the weight, which
// is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
void kaiming_uniform_default_(Tensor& weight);
void default_bias_(Tensor& bias, int64_t fan_in);

// Re-initialises every Linear below `m` (m included) with PyTorch's nn.Linear defaults: weight and
// bias U(+-1/sqrt(in_features)). LayerNorm (1, 0) and Conv2d already hold PyTorch's defaults.
// This is timm's weight_init='skip', the starting point of the structured-init papers.
void reset_linears_to_torch_default(Module& m);

// N(0, 2 / fan_out) with fan_out = k * k * out / groups for a conv weight [out, in / groups, k, k],
// and the bias (if defined) 0: the `_init_weights` of FCViT (ma-xu/FCViT models/fcvit.py) and of
// the MetaFormer family. For grouped convs this fan_out differs from PyTorch's (k * k * out).
void conv_fan_out_normal_(Tensor& weight, Tensor& bias, int64_t groups);

// fan_in / fan_out of a [out, in, k...] weight as PyTorch computes them.
int64_t fan_in(const Tensor& w);
int64_t fan_out(const Tensor& w);

}  // namespace vg::nn::init
