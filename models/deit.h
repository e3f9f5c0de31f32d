// DeiT (= ViT with timm 0.3 init): patch embedding, class token (+ distillation token), learned
// position embedding over all tokens, MHSA blocks, final LayerNorm, head(s) on the token(s).
#pragma once
#include "models/model.h"
#include "nn/patch_embed.h"

namespace vg::models {

class DeiT : public VisionModel {
  public:
    explicit DeiT(const ModelConfig& cfg);
    // Distilled models return (z_cls + z_dist) / 2, DeiT's inference output.
    Tensor forward(const Tensor& x, ModelInternals* internals = nullptr) const override;
    // Final normalised tokens [B, T, D].
    Tensor forward_features(const Tensor& x, ModelInternals* internals = nullptr) const;
    // Distilled models: {class-head logits, distillation-head logits} for distillation training.
    std::pair<Tensor, Tensor> forward_heads(const Tensor& x,
                                            ModelInternals* internals = nullptr) const;

    std::shared_ptr<nn::PatchEmbed> patch_embed;
    Tensor cls_token;   // [1, 1, D]
    Tensor dist_token;  // [1, 1, D], distilled only
    Tensor pos_embed;   // [1, N + 1 (+1), D]
    std::shared_ptr<nn::Dropout> pos_drop;
    std::shared_ptr<nn::LayerNorm> norm;
    std::shared_ptr<nn::Linear> head, head_dist;
};

}  // namespace vg::models
