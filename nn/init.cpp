// Initialisers: draw a fresh tensor and copy it into the parameter under no-grad.
#include "nn/init.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/linear.h"

namespace vg::nn::init {

namespace {
void assign(Tensor& t, const Tensor& values) {
    NoGradGuard ng;
    t.detach().copy_(values);
}
}  // namespace

void trunc_normal_(Tensor& t, double std, double mean, double a, double b) {
    assign(t, Tensor::trunc_normal(t.shape(), mean, std, a, b, t.dtype(), t.device()));
}

void uniform_(Tensor& t, double lo, double hi) {
    NoGradGuard ng;
    assign(t, add_scalar(mul_scalar(Tensor::rand(t.shape(), t.dtype(), t.device()), hi - lo), lo));
}

void normal_(Tensor& t, double mean, double std) {
    NoGradGuard ng;
    assign(t, add_scalar(mul_scalar(Tensor::randn(t.shape(), t.dtype(), t.device()), std), mean));
}

void zeros_(Tensor& t) { constant_(t, 0.0); }
void ones_(Tensor& t) { constant_(t, 1.0); }

void constant_(Tensor& t, double value) {
    NoGradGuard ng;
    t.detach().fill_(value);
}

int64_t fan_in(const Tensor& w) {
    if (w.dim() < 2) fail("init::fan_in", "needs a weight with at least 2 dims, got {}", w.desc());
    return w.numel() / w.size(0);
}

int64_t fan_out(const Tensor& w) {
    if (w.dim() < 2) fail("init::fan_out", "needs a weight with at least 2 dims, got {}", w.desc());
    return w.numel() / w.size(1);
}

void conv_fan_out_normal_(Tensor& weight, Tensor& bias, int64_t groups) {
    if (weight.dim() != 4 || groups <= 0)
        fail("init::conv_fan_out_normal_",
             "needs a conv weight [O, C, k, k] and groups > 0, got {}", weight.desc());
    const int64_t fan = weight.size(2) * weight.size(3) * weight.size(0) / groups;
    normal_(weight, 0.0, std::sqrt(2.0 / double(fan)));
    if (bias.defined()) zeros_(bias);
}

void xavier_uniform_(Tensor& t, double gain) {
    double bound = gain * std::sqrt(6.0 / double(fan_in(t) + fan_out(t)));
    uniform_(t, -bound, bound);
}

void kaiming_uniform_default_(Tensor& weight) {
    // gain = sqrt(2 / (1 + a^2)) with a = sqrt(5); bound = gain * sqrt(3 / fan_in) =
    // 1/sqrt(fan_in).
    double bound = 1.0 / std::sqrt(double(fan_in(weight)));
    uniform_(weight, -bound, bound);
}

void default_bias_(Tensor& bias, int64_t fan_in) {
    double bound = fan_in > 0 ? 1.0 / std::sqrt(double(fan_in)) : 0.0;
    uniform_(bias, -bound, bound);
}

void reset_linears_to_torch_default(Module& m) {
    if (auto* lin = dynamic_cast<Linear*>(&m)) {
        kaiming_uniform_default_(lin->weight);
        if (lin->bias.defined()) default_bias_(lin->bias, lin->in_features);
    }
    for (auto& [name, child] : m.children()) reset_linears_to_torch_default(*child);
}

}  // namespace vg::nn::init
