// Per-channel scaling.
#include "nn/scale.h"

#include "autograd/ops.h"

namespace vg::nn {

Tensor scale_channels(const Tensor& x, const Tensor& gamma, int64_t channel_dim) {
    check_defined("scale_channels", x);
    check_defined("scale_channels", gamma, "gamma");
    const int64_t d = channel_dim < 0 ? channel_dim + x.dim() : channel_dim;
    if (d < 0 || d >= x.dim())
        fail("scale_channels", "channel dim {} is out of range for {}", channel_dim, x.desc());
    if (gamma.dim() != 1 || gamma.size(0) != x.size(d))
        fail("scale_channels", "gamma {} must be [{}] to scale dim {} of {}", gamma.desc(),
             x.size(d), channel_dim, x.desc());
    Shape s;
    for (int64_t i = 0; i < x.dim(); ++i) s.push_back(i == d ? x.size(d) : 1);
    return x * gamma.view(s);
}

LayerScale::LayerScale(int64_t c, double init, int64_t cd) : dim(c), channel_dim(cd) {
    if (c <= 0) fail("LayerScale", "dim must be positive, got {}", c);
    gamma = Tensor::full({c}, init);
    register_parameter("gamma", &gamma);
}

Tensor LayerScale::forward(const Tensor& x) const { return scale_channels(x, gamma, channel_dim); }

}  // namespace vg::nn
