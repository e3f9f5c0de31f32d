// SimpleViT as the predecessor of structured initialisation trains it (Zheng, Li, Lucey,
// "Convolutional Initialization for Data-Efficient Vision Transformers", arXiv 2401.12511;
// osiriszjq/impulse_init vit.py): patch embedding LN -> Linear -> LN over patches flattened in
// (py, px, c) order, a fixed sin-cos position table, pre-norm blocks whose attention has no biases
// and a fused q/k projection, a final LayerNorm, mean pooling and a linear head. All LayerNorms use
// PyTorch's eps 1e-5. Parameter names follow the reference's module tree
// ("transformer.layers.3.0.to_qk.weight").
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"

namespace vg::models {

// A module that only names its children (PyTorch's nn.Sequential / nn.ModuleList).
using ModuleList = nn::ModuleList;

// Attention of one SimpleViT layer: norm, to_qk (2C x C), to_v, to_out, none with a bias.
class SimpleViTAttention : public nn::Module {
  public:
    SimpleViTAttention(int64_t dim, int64_t num_heads, double scale);
    // x: [B, N, C] -> [B, N, C]. q and k read alpha * LN(x) + (1 - alpha) * pe (pe [1, N, C]);
    // v reads LN(x).
    Tensor forward(const Tensor& x, const Tensor& pe, double alpha,
                   nn::AttentionInternals* internals = nullptr) const;

    int64_t dim, num_heads, head_dim;
    double scale;  // the attention logit scale (head_dim^-1/2, or the impulse_ci replacement)
    std::shared_ptr<nn::LayerNorm> norm;
    std::shared_ptr<nn::Linear> to_qk, to_v, to_out;
};

class SimpleViT : public VisionModel {
  public:
    explicit SimpleViT(const ModelConfig& cfg);
    Tensor forward(const Tensor& x, ModelInternals* internals = nullptr) const override;
    // The alpha q and k of every layer use (1 when the PE is mixed in at the input instead).
    double qk_alpha() const;

    int64_t grid;      // S = img / p
    Tensor pos_embed;  // buffer "pos_embedding" [1, N, D] (nn::SinCosLayout::SimpleViT)
    std::shared_ptr<nn::LayerNorm> patch_norm_in, patch_norm_out;
    std::shared_ptr<nn::Linear> patch_linear;
    std::vector<std::shared_ptr<SimpleViTAttention>> attn;
    std::vector<std::shared_ptr<nn::LayerNorm>> ff_norm;
    std::vector<std::shared_ptr<nn::Linear>> ff_fc1, ff_fc2;
    std::shared_ptr<nn::LayerNorm> norm;
    std::shared_ptr<nn::Linear> linear_head;
};

}  // namespace vg::models
