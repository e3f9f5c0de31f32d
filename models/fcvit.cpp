// FCViT: stem, four stages of FCViT blocks with downsamplings between them, GroupNorm, mean over
// positions, head.
#include "models/fcvit.h"

#include <fmt/format.h>

#include <numeric>

#include "autograd/ops.h"
#include "nn/scale.h"

namespace vg::models {

namespace {

constexpr int64_t kStemKernel = kFCViTStemKernel, kDownKernel = 3, kStages = 4;

// Output side of a conv with padding kernel / 2.
int64_t conv_out(int64_t side, int64_t kernel, int64_t stride) {
    return (side + 2 * (kernel / 2) - kernel) / stride + 1;
}

}  // namespace

void check_fcvit_config(const ModelConfig& c) {
    if (c.fcvit_depths.size() != kStages || c.fcvit_widths.size() != kStages ||
        c.fcvit_mlp_ratios.size() != kStages)
        fail("FCViT", "'{}' needs {} stage depths, widths and MLP ratios, got {}, {} and {}",
             c.name, kStages, c.fcvit_depths.size(), c.fcvit_widths.size(),
             c.fcvit_mlp_ratios.size());
    for (int64_t s = 0; s < kStages; ++s) {
        const int64_t d = c.fcvit_depths[size_t(s)], w = c.fcvit_widths[size_t(s)];
        if (d < 0 || c.fcvit_mlp_ratios[size_t(s)] <= 0 || w <= 0 || w % c.num_heads != 0 ||
            w % 8 != 0)
            fail("FCViT",
                 "'{}' stage {}: depth {} must be >= 0, MLP ratio {} positive and width {} a "
                 "multiple of 8 and of the {} context groups",
                 c.name, s + 1, d, c.fcvit_mlp_ratios[size_t(s)], w, c.num_heads);
    }
    // The generic fields describe the stages (models/model.h); a kwarg that sets them alone
    // (embed_dim, depth) would change nothing, so it is refused.
    const int64_t blocks =
        std::accumulate(c.fcvit_depths.begin(), c.fcvit_depths.end(), int64_t(0));
    if (c.embed_dim != c.fcvit_widths.back() || c.depth != blocks)
        fail("FCViT",
             "'{}': embed_dim {} and depth {} must be the last stage width {} and the number of "
             "blocks {} (FCViT's sizes are its stage widths and depths)",
             c.name, c.embed_dim, c.depth, c.fcvit_widths.back(), blocks);
    if (c.patch_size <= 0 || c.img_size <= 0 || c.in_chans <= 0 || c.num_classes <= 0)
        fail("FCViT", "'{}': invalid stem stride {}, image size {}, channels {} or classes {}",
             c.name, c.patch_size, c.img_size, c.in_chans, c.num_classes);
}

OverlapPatchEmbed::OverlapPatchEmbed(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
    proj = register_module("proj", nn::fcvit_conv(in, out, kernel, stride, kernel / 2));
    norm = register_module("norm", std::make_shared<nn::BatchNorm2d>(out));
}

Tensor OverlapPatchEmbed::forward(const Tensor& x) const { return norm->forward(proj->forward(x)); }

FCViTBlock::FCViTBlock(int64_t dim, int64_t mlp_ratio, int64_t kernel, int64_t gc_groups,
                       double layer_scale, double drop, double dp) {
    norm1 = register_module("norm1", std::make_shared<nn::GroupNorm>(1, dim));
    token_mixer =
        register_module("token_mixer", std::make_shared<nn::TokenMixer>(dim, kernel, gc_groups));
    norm2 = register_module("norm2", std::make_shared<nn::GroupNorm>(1, dim));
    channel_mixer = register_module("channel_mixer",
                                    std::make_shared<nn::ChannelMixer>(dim, dim * mlp_ratio, drop));
    drop_path = register_module("drop_path", std::make_shared<nn::DropPath>(dp));
    layer_scale_1 = Tensor::full({dim}, layer_scale);
    layer_scale_2 = Tensor::full({dim}, layer_scale);
    register_parameter("layer_scale_1", &layer_scale_1);
    register_parameter("layer_scale_2", &layer_scale_2);
}

Tensor FCViTBlock::forward(const Tensor& x, std::vector<nn::ContextInternals>* internals) const {
    Tensor mixed = token_mixer->forward(norm1->forward(x), internals);
    Tensor y = x + drop_path->forward(nn::scale_channels(mixed, layer_scale_1, 1));
    return y + drop_path->forward(
                   nn::scale_channels(channel_mixer->forward(norm2->forward(y)), layer_scale_2, 1));
}

FCViT::FCViT(const ModelConfig& cfg) : VisionModel(cfg) {
    check_fcvit_config(cfg);
    const auto& widths = cfg.fcvit_widths;
    patch_embed = register_module(
        "patch_embed",
        std::make_shared<OverlapPatchEmbed>(cfg.in_chans, widths[0], kStemKernel, cfg.patch_size));
    auto network = register_module("network", std::make_shared<nn::ModuleList>());
    const int64_t total =
        std::accumulate(cfg.fcvit_depths.begin(), cfg.fcvit_depths.end(), int64_t(0));
    int64_t index = 0;  // block index over all stages, for the stochastic-depth rate
    for (int64_t s = 0; s < kStages; ++s) {
        auto stage = network->add(std::to_string(2 * s), std::make_shared<nn::ModuleList>());
        for (int64_t j = 0; j < cfg.fcvit_depths[size_t(s)]; ++j, ++index) {
            const double dp =
                total > 1 ? cfg.drop_path_rate * double(index) / double(total - 1) : 0.0;
            stage_blocks.push_back(stage->add(
                std::to_string(j),
                std::make_shared<FCViTBlock>(widths[size_t(s)], cfg.fcvit_mlp_ratios[size_t(s)],
                                             cfg.fcvit_kernel, cfg.num_heads, cfg.fcvit_layer_scale,
                                             cfg.drop_rate, dp)));
            block_stage.push_back(s);
        }
        if (s + 1 < kStages)
            downsamples.push_back(
                network->add(std::to_string(2 * s + 1),
                             std::make_shared<OverlapPatchEmbed>(
                                 widths[size_t(s)], widths[size_t(s + 1)], kDownKernel, 2)));
    }
    norm = register_module("norm", std::make_shared<nn::GroupNorm>(1, widths.back()));
    head = register_module("head", std::make_shared<nn::Linear>(widths.back(), cfg.num_classes));
}

Tensor FCViT::forward(const Tensor& x, ModelInternals* internals) const {
    if (x.dim() != 4 || x.size(1) != cfg_.in_chans)
        fail("FCViT", "expected images [B, {}, H, W], got {}", cfg_.in_chans, x.desc());
    if (internals) internals->contexts.clear();
    Tensor t = patch_embed->forward(x);
    int64_t stage = 0;
    for (size_t i = 0; i < stage_blocks.size(); ++i) {
        for (; stage < block_stage[i]; ++stage) t = downsamples[size_t(stage)]->forward(t);
        t = stage_blocks[i]->forward(t, internals ? &internals->contexts : nullptr);
    }
    for (; stage + 1 < kStages; ++stage) t = downsamples[size_t(stage)]->forward(t);
    return head->forward(mean(norm->forward(t), {2, 3}));
}

int64_t fcvit_parameters(const ModelConfig& c) {
    check_fcvit_config(c);
    const auto& w = c.fcvit_widths;
    // A conv with bias followed by BatchNorm (weight, bias; the running statistics are buffers).
    auto conv_bn = [](int64_t in, int64_t out, int64_t k) {
        return in * out * k * k + out + 2 * out;
    };
    int64_t n = conv_bn(c.in_chans, w[0], kStemKernel);
    for (int64_t s = 0; s < kStages; ++s) {
        const int64_t C = w[size_t(s)], R = C * c.fcvit_mlp_ratios[size_t(s)];
        const int64_t h = nn::fcvit_bottleneck_width(C), k = c.fcvit_kernel, r = C / 8;
        const int64_t gc = (C * 2 * r + 2 * r) + (r * C + C) + 2 * c.num_heads;
        const int64_t round = gc + (C * k * k + C) /* dw */ + (C * h + h) + (h * C + C) /* pw */;
        const int64_t channel = (C * R + R) + (R * 9 + R) + (R * C + C);
        const int64_t block =
            2 * C + 2 * C /* norms */ + 2 * C /* layer scales */ + 2 * round + channel;
        n += c.fcvit_depths[size_t(s)] * block;
        if (s + 1 < kStages) n += conv_bn(C, w[size_t(s + 1)], kDownKernel);
    }
    return n + 2 * w.back() /* norm */ + w.back() * c.num_classes + c.num_classes /* head */;
}

int64_t fcvit_flops(const ModelConfig& c) {
    check_fcvit_config(c);
    const auto& w = c.fcvit_widths;
    int64_t side = conv_out(c.img_size, kStemKernel, c.patch_size);
    int64_t macs = c.in_chans * kStemKernel * kStemKernel * w[0] * side * side;
    for (int64_t s = 0; s < kStages; ++s) {
        const int64_t C = w[size_t(s)], R = C * c.fcvit_mlp_ratios[size_t(s)], N = side * side;
        const int64_t h = nn::fcvit_bottleneck_width(C), k = c.fcvit_kernel, r = C / 8;
        const int64_t gc = C * N /* similarities */ + C * 2 * r + r * C /* fc1, fc2 */;
        const int64_t round = gc + C * k * k * N + 2 * C * h * N;
        const int64_t channel = 2 * C * R * N + R * 9 * N;
        macs += c.fcvit_depths[size_t(s)] * (2 * round + channel);
        if (s + 1 < kStages) {
            side = conv_out(side, kDownKernel, 2);
            macs += C * w[size_t(s + 1)] * kDownKernel * kDownKernel * side * side;
        }
    }
    return 2 * (macs + w.back() * c.num_classes);
}

}  // namespace vg::models
