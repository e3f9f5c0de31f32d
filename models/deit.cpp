// DeiT model.
#include "models/deit.h"

#include "autograd/ops.h"
#include "nn/init.h"

namespace vg::models {

DeiT::DeiT(const ModelConfig& c) : VisionModel(c) {
    if (c.arch != Arch::DeiT) fail("DeiT", "config '{}' is not a DeiT config", c.name);
    if (c.depth < 1) fail("DeiT", "depth must be at least 1, got {}", c.depth);
    const int64_t D = c.embed_dim;
    patch_embed = register_module(
        "patch_embed", std::make_shared<nn::PatchEmbed>(c.img_size, c.patch_size, c.in_chans, D));
    cls_token = Tensor::empty({1, 1, D});
    nn::init::trunc_normal_(cls_token, 0.02);
    register_parameter("cls_token", &cls_token);
    if (c.distilled) {
        dist_token = Tensor::empty({1, 1, D});
        nn::init::trunc_normal_(dist_token, 0.02);
        register_parameter("dist_token", &dist_token);
    }
    pos_embed = Tensor::empty({1, patch_embed->num_patches + (c.distilled ? 2 : 1), D});
    nn::init::trunc_normal_(pos_embed, 0.02);
    register_parameter("pos_embed", &pos_embed);
    pos_drop = register_module("pos_drop", std::make_shared<nn::Dropout>(c.drop_rate));
    for (int64_t i = 0; i < c.depth; ++i)
        blocks.push_back(register_module(fmt::format("blocks.{}", i),
                                         std::make_shared<nn::Block>(block_config(i, false))));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(D, 1e-6));
    head = register_module("head", std::make_shared<nn::Linear>(D, c.num_classes));
    if (c.distilled)
        head_dist = register_module("head_dist", std::make_shared<nn::Linear>(D, c.num_classes));
}

Tensor DeiT::forward_features(const Tensor& x, ModelInternals* internals) const {
    Tensor t = patch_embed->forward(x);  // [B, N, D]
    const int64_t B = t.size(0), D = cfg_.embed_dim;
    std::vector<Tensor> parts{cls_token.expand({B, 1, D})};
    if (cfg_.distilled) parts.push_back(dist_token.expand({B, 1, D}));
    parts.push_back(t);
    t = pos_drop->forward(cat(parts, 1) + pos_embed);
    if (internals) internals->blocks.assign(blocks.size(), {});
    for (size_t i = 0; i < blocks.size(); ++i)
        t = blocks[i]->forward(t, internals ? &internals->blocks[i] : nullptr);
    return norm->forward(t);
}

std::pair<Tensor, Tensor> DeiT::forward_heads(const Tensor& x, ModelInternals* internals) const {
    if (!cfg_.distilled)
        fail("DeiT::forward_heads", "model '{}' has no distillation token", cfg_.name);
    Tensor t = forward_features(x, internals);
    return {head->forward(t.select(1, 0)), head_dist->forward(t.select(1, 1))};
}

Tensor DeiT::forward(const Tensor& x, ModelInternals* internals) const {
    if (cfg_.distilled) {
        auto [z, zd] = forward_heads(x, internals);
        return (z + zd) * 0.5;
    }
    return head->forward(forward_features(x, internals).select(1, 0));
}

}  // namespace vg::models
