// FCViT's token and channel mixers.
#include "nn/fcvit_mixers.h"

#include "autograd/ops.h"
#include "nn/init.h"

namespace vg::nn {

std::shared_ptr<Conv2d> fcvit_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                   int64_t padding, int64_t groups) {
    auto conv = std::make_shared<Conv2d>(in, out, kernel, stride, padding, groups);
    init::conv_fan_out_normal_(conv->weight, conv->bias, groups);
    return conv;
}

PointwiseBottleneck::PointwiseBottleneck(int64_t dim, int64_t hidden) {
    reduce = register_module("0", fcvit_conv(dim, hidden, 1));
    expand = register_module("2", fcvit_conv(hidden, dim, 1));
}

Tensor PointwiseBottleneck::forward(const Tensor& x) const {
    return expand->forward(gelu(reduce->forward(x)));
}

TokenMixer::TokenMixer(int64_t d, int64_t kernel, int64_t gc_groups)
    : dim(d), hidden(fcvit_bottleneck_width(d)) {
    if (kernel <= 0 || kernel % 2 == 0)
        fail("TokenMixer", "the depthwise kernel must be odd and positive, got {}", kernel);
    gc1 = register_module("gc1", std::make_shared<GlobalContext>(d, gc_groups));
    dw1 = register_module("dw1", fcvit_conv(d, d, kernel, 1, kernel / 2, d));
    fc1 = register_module("fc1", std::make_shared<PointwiseBottleneck>(d, hidden));
    gc2 = register_module("gc2", std::make_shared<GlobalContext>(d, gc_groups));
    dw2 = register_module("dw2", fcvit_conv(d, d, kernel, 1, kernel / 2, d));
    fc2 = register_module("fc2", std::make_shared<PointwiseBottleneck>(d, hidden));
}

Tensor TokenMixer::forward(const Tensor& x, std::vector<ContextInternals>* internals) const {
    ContextInternals first, second;
    Tensor y = x + gc1->forward(x, internals ? &first : nullptr);
    y = gelu(fc1->forward(dw1->forward(y)));
    y = y + gc2->forward(y, internals ? &second : nullptr);
    y = gelu(fc2->forward(dw2->forward(y)));
    if (internals) {
        internals->push_back(std::move(first));
        internals->push_back(std::move(second));
    }
    return y;
}

ChannelMixer::ChannelMixer(int64_t d, int64_t hidden, double p) {
    fc1 = register_module("fc1", fcvit_conv(d, hidden, 1));
    dwconv = register_module("dwconv", fcvit_conv(hidden, hidden, 3, 1, 1, hidden));
    fc2 = register_module("fc2", fcvit_conv(hidden, d, 1));
    drop = register_module("drop", std::make_shared<Dropout>(p));
}

Tensor ChannelMixer::forward(const Tensor& x) const {
    Tensor h = drop->forward(gelu(dwconv->forward(fc1->forward(x))));
    return drop->forward(fc2->forward(h));
}

}  // namespace vg::nn
