// ConViT model.
#include "models/convit.h"

#include "autograd/ops.h"
#include "nn/init.h"

namespace vg::models {

ConViT::ConViT(const ModelConfig& c) : VisionModel(c) {
    if (c.arch != Arch::ConViT) fail("ConViT", "config '{}' is not a ConViT config", c.name);
    if (c.local_up_to_layer < 0 || c.local_up_to_layer >= c.depth)
        fail("ConViT",
             "local_up_to_layer {} must be in [0, depth={}): the class token joins before "
             "the first MHSA block, so at least one is needed",
             c.local_up_to_layer, c.depth);
    if (c.use_local_init && c.local_up_to_layer > 0 && !math::is_square(c.num_heads))
        fail("ConViT",
             "num_heads {} is not a perfect square: the local init gives each head one "
             "kernel offset",
             c.num_heads);
    const int64_t D = c.embed_dim;
    patch_embed = register_module(
        "patch_embed", std::make_shared<nn::PatchEmbed>(c.img_size, c.patch_size, c.in_chans, D));
    nn::grid_side(patch_embed->num_patches, "ConViT");
    cls_token = Tensor::empty({1, 1, D});
    nn::init::trunc_normal_(cls_token, 0.02);
    register_parameter("cls_token", &cls_token);
    pos_embed = Tensor::empty({1, patch_embed->num_patches, D});
    nn::init::trunc_normal_(pos_embed, 0.02);
    register_parameter("pos_embed", &pos_embed);
    pos_drop = register_module("pos_drop", std::make_shared<nn::Dropout>(c.drop_rate));
    for (int64_t i = 0; i < c.depth; ++i)
        blocks.push_back(
            register_module(fmt::format("blocks.{}", i),
                            std::make_shared<nn::Block>(block_config(i, i < c.local_up_to_layer))));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(D, c.ln_eps));
    head = register_module("head", std::make_shared<nn::Linear>(D, c.num_classes));
}

Tensor ConViT::forward_features(const Tensor& x, ModelInternals* internals) const {
    Tensor t = pos_drop->forward(patch_embed->forward(x) + pos_embed);  // [B, N, D]
    const int64_t B = t.size(0);
    if (internals) internals->blocks.assign(blocks.size(), {});
    for (size_t i = 0; i < blocks.size(); ++i) {
        if (int64_t(i) == cfg_.local_up_to_layer)
            t = cat({cls_token.expand({B, 1, cfg_.embed_dim}), t}, 1);
        t = blocks[i]->forward(t, internals ? &internals->blocks[i] : nullptr);
    }
    return norm->forward(t);
}

Tensor ConViT::forward(const Tensor& x, ModelInternals* internals) const {
    return head->forward(forward_features(x, internals).select(1, 0));
}

}  // namespace vg::models
