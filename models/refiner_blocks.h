// The layers of the released Refiner-ViT (zhoudaquan/Refiner_ViT, models/refined_transformer.py),
// with its parameter names so that its checkpoints load by name:
//  - RefinerAttention: a computing block (`qkv` [3D, D]) attends as MHSA, adding the scaled map
//    of the previous computing block when there is one (A = softmax(q k^T d^-1/2) + d^-1/2 A_prev,
//    the "attention residual"); a sharing block has no q or k (`qkv` holds only v, [D, D]) and
//    multiplies the values by adapt_bn(DLA(A_prev)) * d^-1/2, with no softmax. Computing blocks
//    pass their map on; sharing blocks pass on the one they received.
//  - RefinerMlp: fc1 -> GELU -> fc2, then a per-channel scale `scale_channel` (init 1e-5).
//  - RefinerBlock: x += DropPath(attn(LN(r x)) / r); x += DropPath(mlp(LN(r x))) / r, r = 0.5.
//  - ConvStem (`use_cnn_embed`): Conv7x7 s2 -> BN -> ReLU -> Conv3x3 -> BN -> ReLU -> Conv3x3 -> BN
//    -> ReLU (no conv biases) -> Conv with kernel = stride = patch / 2 (with bias).
#pragma once
#include <memory>
#include <utility>
#include <vector>

#include "nn/attention.h"
#include "nn/batchnorm.h"
#include "nn/conv.h"
#include "nn/layer_norm.h"

namespace vg::models {

class RefinerAttention : public nn::AttentionLayer {
  public:
    // sharing: a refining block (no q/k); expand_ratio / kernel configure its DLA.
    RefinerAttention(int64_t dim, int64_t num_heads, bool sharing, bool qkv_bias = true,
                     double attn_drop = 0.0, double proj_drop = 0.0, int64_t expand_ratio = 3,
                     int64_t kernel = 3);
    // x [B, T, D], prev [B, H, T, T] (undefined before the first computing block) ->
    // {output [B, T, D], the map passed to the next block}.
    std::pair<Tensor, Tensor> forward(const Tensor& x, const Tensor& prev,
                                      nn::AttentionInternals* internals = nullptr) const;
    // The AttentionLayer interface: a block without a previous map (sharing blocks need one).
    Tensor forward(const Tensor& x, nn::AttentionInternals* internals = nullptr) const override;

    bool sharing;
    std::shared_ptr<nn::Linear> qkv, proj;  // qkv: [3D, D] (computing) or [D, D] (sharing: v)
    std::shared_ptr<nn::Dropout> attn_drop, proj_drop;
    std::shared_ptr<nn::AttentionRefiner> refiner;  // `DLA`, sharing blocks only
    std::shared_ptr<nn::BatchNorm2d> adapt_bn;      // sharing blocks only
};

class RefinerMlp : public nn::Module {
  public:
    RefinerMlp(int64_t dim, int64_t hidden, double drop = 0.0, double scale_init = 1e-5);
    Tensor forward(const Tensor& x) const;  // [..., D] -> [..., D]

    Tensor scale_channel;  // [D], registered first as in the released code
    std::shared_ptr<nn::Linear> fc1, fc2;
    std::shared_ptr<nn::GELU> act;
    std::shared_ptr<nn::Dropout> drop;
};

struct RefinerBlockConfig {
    int64_t dim = 0, num_heads = 0;
    bool sharing = false;
    double mlp_ratio = 3.0;
    bool qkv_bias = true;
    double drop = 0.0, attn_drop = 0.0, drop_path = 0.0;
    int64_t expand_ratio = 3, kernel = 3;
    double adjust_ratio = 0.5, mlp_scale = 1e-5, norm_eps = 1e-6;
};

class RefinerBlock : public nn::Module {
  public:
    explicit RefinerBlock(const RefinerBlockConfig& cfg);
    // {x [B, T, D], map for the next block}.
    std::pair<Tensor, Tensor> forward(const Tensor& x, const Tensor& prev,
                                      nn::AttentionInternals* internals = nullptr) const;

    RefinerBlockConfig cfg;
    std::shared_ptr<nn::LayerNorm> norm1, norm2;
    std::shared_ptr<RefinerAttention> attn;
    std::shared_ptr<nn::DropPath> drop_path;
    std::shared_ptr<RefinerMlp> mlp;
};

class ConvStem : public nn::Module {
  public:
    // widths: the three conv widths ({32, 64, 128} in the released code).
    ConvStem(int64_t img_size, int64_t patch_size, int64_t in_chans, int64_t embed_dim,
             const std::vector<int64_t>& widths);
    Tensor forward(const Tensor& x) const;  // [B, C, img, img] -> [B, D, img/p, img/p]

    int64_t img_size, patch_size, in_chans, num_patches;
    std::shared_ptr<nn::Conv2d> conv1, conv2, conv3, proj;
    std::shared_ptr<nn::BatchNorm2d> bn1, bn2, bn3;
};

}  // namespace vg::models
