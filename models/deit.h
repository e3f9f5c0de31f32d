// DeiT (= ViT with timm 0.3 init): patch embedding, class token (+ distillation token), learned
// position embedding over all tokens, MHSA blocks, final LayerNorm, head(s) on the token(s).
// The timm ViT options the structured-init papers train with are here too: no class token with
// global average pooling and `fc_norm`, the fixed 2-D sin-cos position embedding (over the patch
// tokens only, timm's no_embed_class), and PyTorch-default ("skip") initialisation.
#pragma once
#include "models/model.h"
#include "nn/patch_embed.h"

namespace vg::models {

class DeiT : public VisionModel {
  public:
    explicit DeiT(const ModelConfig& cfg);
    // Distilled models return (z_cls + z_dist) / 2, DeiT's inference output.
    Tensor forward(const Tensor& x, ModelInternals* internals = nullptr) const override;
    // Tokens after the blocks and the final norm [B, T, D] (no norm with average pooling: there
    // fc_norm follows the pool).
    Tensor forward_features(const Tensor& x, ModelInternals* internals = nullptr) const;
    // Distilled models: {class-head logits, distillation-head logits} for distillation training.
    std::pair<Tensor, Tensor> forward_heads(const Tensor& x,
                                            ModelInternals* internals = nullptr) const;

    // Class and distillation tokens before the patch tokens.
    int64_t num_prefix_tokens() const;

    std::shared_ptr<nn::PatchEmbed> patch_embed;
    Tensor cls_token;   // [1, 1, D], with a class token only
    Tensor dist_token;  // [1, 1, D], distilled only
    // Learned: a parameter [1, prefix + N, D]; SinCos2d: a buffer [1, N, D] added to the patches.
    Tensor pos_embed;
    std::shared_ptr<nn::Dropout> pos_drop;
    std::shared_ptr<nn::LayerNorm> norm;     // Pool::Token only
    std::shared_ptr<nn::LayerNorm> fc_norm;  // Pool::Avg only
    std::shared_ptr<nn::Linear> head, head_dist;
};

}  // namespace vg::models
