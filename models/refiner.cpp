// Refiner-ViT model (released-code mode).
#include "models/refiner.h"

#include "autograd/ops.h"
#include "nn/init.h"

namespace vg::models {

RefinerViT::RefinerViT(const ModelConfig& c) : VisionModel(c) {
    if (c.arch != Arch::Refiner) fail("RefinerViT", "config '{}' is not a Refiner config", c.name);
    if (c.depth < 1) fail("RefinerViT", "depth must be at least 1, got {}", c.depth);
    if (c.refiner_expand < 1)
        fail("RefinerViT", "refiner_expand must be >= 1 for the sharing blocks, got {}",
             c.refiner_expand);
    const int64_t D = c.embed_dim;
    int64_t num_patches = 0;
    if (c.refiner_stem.empty()) {
        embed = register_module("patch_embed", std::make_shared<nn::PatchEmbed>(
                                                   c.img_size, c.patch_size, c.in_chans, D));
        num_patches = embed->num_patches;
    } else {
        stem = register_module(
            "patch_embed",
            std::make_shared<ConvStem>(c.img_size, c.patch_size, c.in_chans, D, c.refiner_stem));
        num_patches = stem->num_patches;
    }
    cls_token = Tensor::empty({1, 1, D});
    pos_embed = Tensor::empty({1, num_patches + 1, D});
    nn::init::trunc_normal_(pos_embed, 0.02);
    nn::init::trunc_normal_(cls_token, 0.02);
    register_parameter("cls_token", &cls_token);
    register_parameter("pos_embed", &pos_embed);
    pos_drop = register_module("pos_drop", std::make_shared<nn::Dropout>(c.drop_rate));
    for (int64_t i = 0; i < c.depth; ++i) {
        RefinerBlockConfig b{.dim = D,
                             .num_heads = c.num_heads,
                             .sharing = i % 2 == 1,
                             .mlp_ratio = c.mlp_ratio,
                             .qkv_bias = c.qkv_bias,
                             .drop = c.drop_rate,
                             .attn_drop = c.attn_drop_rate,
                             .drop_path = drop_path_at(i),
                             .expand_ratio = c.refiner_expand,
                             .kernel = c.refiner_kernel,
                             .adjust_ratio = c.refiner_adjust_ratio,
                             .mlp_scale = c.refiner_mlp_scale};
        refiner_blocks.push_back(
            register_module(fmt::format("blocks.{}", i), std::make_shared<RefinerBlock>(b)));
    }
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(D, 1e-6));
    head = register_module("head", std::make_shared<nn::Linear>(D, c.num_classes));
}

Tensor RefinerViT::forward_features(const Tensor& x, ModelInternals* internals) const {
    // [B, D, S, S] -> [B, N, D], tokens row-major over the grid.
    Tensor t = stem ? stem->forward(x).flatten(2).transpose(1, 2) : embed->forward(x);
    const int64_t B = t.size(0);
    t = pos_drop->forward(cat({cls_token.expand({B, 1, cfg_.embed_dim}), t}, 1) + pos_embed);
    if (internals) internals->blocks.assign(refiner_blocks.size(), {});
    Tensor maps;
    for (size_t i = 0; i < refiner_blocks.size(); ++i)
        std::tie(t, maps) =
            refiner_blocks[i]->forward(t, maps, internals ? &internals->blocks[i] : nullptr);
    return norm->forward(t);
}

Tensor RefinerViT::forward(const Tensor& x, ModelInternals* internals) const {
    return head->forward(forward_features(x, internals).select(1, 0));
}

// Stem (or patch conv), tokens, blocks, final LayerNorm, head: the same sum as the layers above.
int64_t refiner_vit_parameters(const ModelConfig& c) {
    const int64_t D = c.embed_dim, H = c.num_heads, M = c.mlp_hidden(), K = c.num_classes;
    const int64_t N = c.num_patches(), qkv_b = c.qkv_bias ? 1 : 0, p2 = c.patch_size / 2;
    int64_t n = 0;
    if (c.refiner_stem.size() == 3) {
        const std::vector<int64_t>& w = c.refiner_stem;
        n += c.in_chans * w[0] * 49 + w[0] * w[1] * 9 + w[1] * w[2] * 9 /* convs */ +
             2 * (w[0] + w[1] + w[2]) /* BN */ + w[2] * D * p2 * p2 + D /* proj */;
    } else {
        n += c.in_chans * c.patch_size * c.patch_size * D + D;
    }
    n += D + (N + 1) * D /* cls, pos */ + 2 * D + D * K + K /* norm, head */;
    const int64_t common = 4 * D /* LN1, LN2 */ + D * D + D /* proj */ + D * M + M + M * D + D +
                           D /* MLP and its scale */;
    const int64_t computing = common + 3 * D * D + qkv_b * 3 * D;
    const int64_t sharing =
        common + D * D + qkv_b * D /* v */ +
        nn::attention_refiner_parameters(H, c.refiner_expand, c.refiner_kernel) +
        2 * H /* adapt_bn */;
    return n + (c.depth + 1) / 2 * computing + c.depth / 2 * sharing;
}

int64_t refiner_vit_flops(const ModelConfig& c) {
    const int64_t D = c.embed_dim, H = c.num_heads, M = c.mlp_hidden(), K = c.num_classes;
    const int64_t N = c.num_patches(), T = N + 1, p2 = c.patch_size / 2;
    int64_t macs = 0;
    if (c.refiner_stem.size() == 3) {
        const std::vector<int64_t>& w = c.refiner_stem;
        const int64_t half = (c.img_size / 2) * (c.img_size / 2);
        macs += half * (c.in_chans * w[0] * 49 + w[0] * w[1] * 9 + w[1] * w[2] * 9) +
                N * w[2] * p2 * p2 * D;
    } else {
        macs += N * c.in_chans * c.patch_size * c.patch_size * D;
    }
    // Computing: q/k/v, scores, A v, proj, MLP. Sharing: v, A v, proj, MLP and the refiner.
    const int64_t computing = T * D * 3 * D + 2 * T * T * D + T * D * D + 2 * T * D * M;
    const int64_t sharing = T * D * D + T * T * D + T * D * D + 2 * T * D * M +
                            nn::attention_refiner_macs(H, c.refiner_expand, c.refiner_kernel, T);
    macs += (c.depth + 1) / 2 * computing + c.depth / 2 * sharing + D * K;
    return 2 * macs;
}

}  // namespace vg::models
