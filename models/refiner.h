// Refiner-ViT as released (Zhou et al. 2021, zhoudaquan/Refiner_ViT models/refined_transformer.py,
// `Refiner_ViT` with the settings of Refiner_ViT_S/M/L and scripts/refiner_s.yaml): a conv stem
// (or a patch-embedding conv), class token and learned position embedding, then blocks that
// alternate computing (even index) and sharing (odd index) attention (models/refiner_blocks.h),
// final LayerNorm and a head on the class token. The dense auxiliary head, MixToken and the
// attention cosine regulariser are off in the released recipe and not built.
#pragma once
#include "models/model.h"
#include "models/refiner_blocks.h"
#include "nn/patch_embed.h"

namespace vg::models {

// Dry counts of the configuration (registry.h's count_parameters / forward_flops).
int64_t refiner_vit_parameters(const ModelConfig& cfg);
int64_t refiner_vit_flops(const ModelConfig& cfg);

class RefinerViT : public VisionModel {
  public:
    explicit RefinerViT(const ModelConfig& cfg);
    Tensor forward(const Tensor& x, ModelInternals* internals = nullptr) const override;
    // Final normalised tokens [B, N + 1, D] (class token first).
    Tensor forward_features(const Tensor& x, ModelInternals* internals = nullptr) const;

    std::shared_ptr<ConvStem> stem;         // `patch_embed` with a conv stem, or
    std::shared_ptr<nn::PatchEmbed> embed;  // `patch_embed` without one
    Tensor cls_token;                       // [1, 1, D]
    Tensor pos_embed;                       // [1, N + 1, D]
    std::shared_ptr<nn::Dropout> pos_drop;
    std::vector<std::shared_ptr<RefinerBlock>> refiner_blocks;  // `blocks.i`
    std::shared_ptr<nn::LayerNorm> norm;
    std::shared_ptr<nn::Linear> head;
};

}  // namespace vg::models
