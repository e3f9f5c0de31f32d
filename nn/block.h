// Pre-norm transformer block: x += DropPath(attn(norm1(x))); x += DropPath(mlp(norm2(x))), with
// either MHSA or GPSA as `attn` (timm names norm1, attn, drop_path, norm2, mlp).
#pragma once
#include <memory>

#include "nn/attention.h"
#include "nn/layer_norm.h"
#include "nn/mlp.h"

namespace vg::nn {

struct BlockConfig {
    int64_t dim = 0, num_heads = 0;
    double mlp_ratio = 4.0;
    bool qkv_bias = false;
    double drop = 0.0, attn_drop = 0.0, drop_path = 0.0;
    bool use_gpsa = false;
    double locality_strength = 1.0;  // GPSA only
    bool use_local_init = true;      // GPSA only
    double norm_eps = 1e-6;
    // Refiner paper mode, MHSA only: expansion ratio of the attention-map refiner (0: none).
    int64_t refiner_expand = 0;
    int64_t refiner_kernel = 3;
};

class Block : public Module {
  public:
    explicit Block(const BlockConfig& cfg);
    // x: [B, T, C] -> [B, T, C]
    Tensor forward(const Tensor& x, AttentionInternals* internals = nullptr) const;

    BlockConfig cfg;
    std::shared_ptr<LayerNorm> norm1, norm2;
    std::shared_ptr<AttentionLayer> attn;
    std::shared_ptr<DropPath> drop_path;
    std::shared_ptr<Mlp> mlp;
};

}  // namespace vg::nn
