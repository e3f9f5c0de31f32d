// DeiT model.
#include "models/deit.h"

#include "autograd/ops.h"
#include "nn/init.h"
#include "nn/pos_embed.h"

namespace vg::models {

DeiT::DeiT(const ModelConfig& c) : VisionModel(c) {
    if (c.arch != Arch::DeiT) fail("DeiT", "config '{}' is not a DeiT config", c.name);
    if (c.depth < 1) fail("DeiT", "depth must be at least 1, got {}", c.depth);
    if (c.pool == Pool::Token && !c.class_token)
        fail("DeiT", "config '{}': class-token pooling needs class_token = true (or pool = avg)",
             c.name);
    if (c.distilled && (!c.class_token || c.pool != Pool::Token))
        fail("DeiT", "config '{}': distillation needs the class token and token pooling", c.name);
    const int64_t D = c.embed_dim;
    const bool timm_init = c.weight_init == WeightInit::Timm;
    // Tokens: timm 0.3 draws trunc-normal(0.02); timm's constructors (kept by 'skip') hold zeros
    // for the tokens and randn * 0.02 for a learned position embedding.
    auto token = [&](Tensor& t, const char* name) {
        t = Tensor::zeros({1, 1, D});
        if (timm_init) nn::init::trunc_normal_(t, 0.02);
        register_parameter(name, &t);
    };
    patch_embed = register_module(
        "patch_embed", std::make_shared<nn::PatchEmbed>(c.img_size, c.patch_size, c.in_chans, D));
    if (c.class_token) token(cls_token, "cls_token");
    if (c.distilled) token(dist_token, "dist_token");
    const int64_t N = patch_embed->num_patches;
    if (c.pos_embed == PosEmbed::Learned) {
        pos_embed = Tensor::empty({1, N + num_prefix_tokens(), D});
        if (timm_init)
            nn::init::trunc_normal_(pos_embed, 0.02);
        else
            pos_embed.copy_(Tensor::randn(pos_embed.shape()) * 0.02);
        register_parameter("pos_embed", &pos_embed);
    } else {
        pos_embed = nn::sincos_pos_embed_2d(patch_embed->grid, D, nn::SinCosLayout::Timm)
                        .reshape({1, N, D});
        register_buffer("pos_embed", &pos_embed);
    }
    pos_drop = register_module("pos_drop", std::make_shared<nn::Dropout>(c.drop_rate));
    for (int64_t i = 0; i < c.depth; ++i)
        blocks.push_back(register_module(fmt::format("blocks.{}", i),
                                         std::make_shared<nn::Block>(block_config(i, false))));
    if (c.pool == Pool::Token)
        norm = register_module("norm", std::make_shared<nn::LayerNorm>(D, c.ln_eps));
    else
        fc_norm = register_module("fc_norm", std::make_shared<nn::LayerNorm>(D, c.ln_eps));
    head = register_module("head", std::make_shared<nn::Linear>(D, c.num_classes));
    if (c.distilled)
        head_dist = register_module("head_dist", std::make_shared<nn::Linear>(D, c.num_classes));
    if (!timm_init) nn::init::reset_linears_to_torch_default(*this);
}

int64_t DeiT::num_prefix_tokens() const {
    return (cfg_.class_token ? 1 : 0) + (cfg_.distilled ? 1 : 0);
}

Tensor DeiT::forward_features(const Tensor& x, ModelInternals* internals) const {
    Tensor t = patch_embed->forward(x);  // [B, N, D]
    const int64_t B = t.size(0), D = cfg_.embed_dim;
    const bool fixed_pe = cfg_.pos_embed == PosEmbed::SinCos2d;
    if (fixed_pe) t = t + pos_embed;  // the patches only: prefix tokens carry no position
    std::vector<Tensor> parts;
    if (cfg_.class_token) parts.push_back(cls_token.expand({B, 1, D}));
    if (cfg_.distilled) parts.push_back(dist_token.expand({B, 1, D}));
    if (!parts.empty()) {
        parts.push_back(t);
        t = cat(parts, 1);
    }
    if (!fixed_pe) t = t + pos_embed;
    t = pos_drop->forward(t);
    if (internals) internals->blocks.assign(blocks.size(), {});
    for (size_t i = 0; i < blocks.size(); ++i)
        t = blocks[i]->forward(t, internals ? &internals->blocks[i] : nullptr);
    return norm ? norm->forward(t) : t;
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
    Tensor t = forward_features(x, internals);
    if (cfg_.pool == Pool::Avg) {
        const int64_t prefix = num_prefix_tokens();
        Tensor patches = prefix > 0 ? t.narrow(1, prefix, t.size(1) - prefix) : t;
        return head->forward(fc_norm->forward(mean(patches, {1})));
    }
    return head->forward(t.select(1, 0));
}

}  // namespace vg::models
