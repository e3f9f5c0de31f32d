// ConViT: a DeiT whose first local_up_to_layer blocks use GPSA on the patch tokens only; the class
// token is concatenated just before the first MHSA block, and the position embedding covers the
// patches only (ConViT §3; facebookresearch/convit convit.py, VisionTransformer.forward_features).
#pragma once
#include "models/model.h"
#include "nn/patch_embed.h"

namespace vg::models {

class ConViT : public VisionModel {
  public:
    explicit ConViT(const ModelConfig& cfg);
    Tensor forward(const Tensor& x, ModelInternals* internals = nullptr) const override;
    // Final normalised tokens [B, N + 1, D] (class token first).
    Tensor forward_features(const Tensor& x, ModelInternals* internals = nullptr) const;

    std::shared_ptr<nn::PatchEmbed> patch_embed;
    Tensor cls_token;  // [1, 1, D]
    Tensor pos_embed;  // [1, N, D]
    std::shared_ptr<nn::Dropout> pos_drop;
    std::shared_ptr<nn::LayerNorm> norm;
    std::shared_ptr<nn::Linear> head;
};

}  // namespace vg::models
