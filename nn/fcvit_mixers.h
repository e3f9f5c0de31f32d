// The two mixers of an FCViT block (ma-xu/FCViT models/fcvit.py, released settings: global
// context on, two mixing rounds, depthwise kernel 11 in both, spatial and channel attention off),
// with the released parameter names. Every conv is initialised N(0, 2 / fan_out), fan_out =
// k k out / groups, bias 0 (init::conv_fan_out_normal_); the Linears trunc-normal(0.02), bias 0.
//  - TokenMixer: x <- x + gc1(x); x <- GELU(fc1(dw1(x))); x <- x + gc2(x); x <- GELU(fc2(dw2(x))),
//    with dw a depthwise k x k conv (padding k / 2, bias) and fc the 1 x 1 bottleneck
//    C -> h -> C, h = max(C / 8, 16), GELU between.
//  - ChannelMixer: fc1 (1 x 1, C -> hidden) -> dwconv (depthwise 3 x 3) -> GELU -> dropout -> fc2
//    (1 x 1, hidden -> C) -> dropout.
#pragma once
#include <memory>
#include <vector>

#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/global_context.h"

namespace vg::nn {

// The token mixer's 1 x 1 bottleneck width for C channels: max(C / 8, 16).
constexpr int64_t fcvit_bottleneck_width(int64_t channels) {
    return channels / 8 > 16 ? channels / 8 : 16;
}

// A conv initialised as FCViT does (the fan-out normal above).
std::shared_ptr<Conv2d> fcvit_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1,
                                   int64_t padding = 0, int64_t groups = 1);

// nn.Sequential(Conv 1x1 C -> h, GELU, Conv 1x1 h -> C): children "0" and "2".
class PointwiseBottleneck : public Module {
  public:
    PointwiseBottleneck(int64_t dim, int64_t hidden);
    Tensor forward(const Tensor& x) const;  // [B, C, H, W] -> [B, C, H, W]

    std::shared_ptr<Conv2d> reduce, expand;
};

class TokenMixer : public Module {
  public:
    TokenMixer(int64_t dim, int64_t kernel = 11, int64_t gc_groups = 8);
    // x: [B, C, H, W] -> [B, C, H, W]; `internals` receives the two global contexts' internals
    // (appended, gc1 first).
    Tensor forward(const Tensor& x, std::vector<ContextInternals>* internals = nullptr) const;

    int64_t dim, hidden;
    std::shared_ptr<GlobalContext> gc1, gc2;
    std::shared_ptr<Conv2d> dw1, dw2;
    std::shared_ptr<PointwiseBottleneck> fc1, fc2;
};

class ChannelMixer : public Module {
  public:
    ChannelMixer(int64_t dim, int64_t hidden, double drop = 0.0);
    Tensor forward(const Tensor& x) const;  // [B, C, H, W] -> [B, C, H, W]

    std::shared_ptr<Conv2d> fc1, dwconv, fc2;
    std::shared_ptr<Dropout> drop;
};

}  // namespace vg::nn
