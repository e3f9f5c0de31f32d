// The configuration shared by the ViT-family models and the interface they implement.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/block.h"
#include "nn/internals.h"

namespace vg::models {

enum class Arch { DeiT, ConViT, Refiner };

struct ModelConfig {
    std::string name;
    Arch arch = Arch::DeiT;
    int64_t img_size = 224, patch_size = 16, in_chans = 3, num_classes = 1000;
    int64_t embed_dim = 192, depth = 12, num_heads = 3;
    double mlp_ratio = 4.0;
    bool qkv_bias = true;  // DeiT: true; ConViT: false (GPSA and MHSA)
    int64_t local_up_to_layer =
        10;  // ConViT: blocks [0, L_loc) are GPSA, the class token joins after
    double locality_strength = 1.0;  // ConViT: alpha of the local init
    bool use_local_init = true;      // ConViT: W_v = I and the kernel-offset W_pos
    bool distilled = false;          // DeiT: distillation token and head_dist
    double drop_rate = 0.0, attn_drop_rate = 0.0, drop_path_rate = 0.0;
    // Epsilon of every LayerNorm (blocks and the final norm). The registered DeiT and ConViT
    // builders pass norm_layer=partial(nn.LayerNorm, eps=1e-6); the bare VisionTransformer class
    // would default to nn.LayerNorm's 1e-5 (facebookresearch/deit models.py, convit convit.py).
    double ln_eps = 1e-6;
    // Refiner (Zhou et al. 2021). DeiT and ConViT refine the attention maps of every MHSA block
    // when refiner_expand > 0 (the paper's form, nn/attention_refiner.h). Arch::Refiner is the
    // released model (models/refiner.h): its sharing blocks refine with these settings.
    int64_t refiner_expand = 0, refiner_kernel = 3;
    // Arch::Refiner only: conv-stem widths (empty: a plain patch-embedding conv), the residual
    // adjust ratio and the initial value of the MLP's per-channel scale.
    std::vector<int64_t> refiner_stem = {32, 64, 128};
    double refiner_adjust_ratio = 0.5, refiner_mlp_scale = 1e-5;

    int64_t num_patches() const { return (img_size / patch_size) * (img_size / patch_size); }
    int64_t mlp_hidden() const { return int64_t(double(embed_dim) * mlp_ratio); }
};

// Per-block attention internals of one forward (blocks[i] for block i).
struct ModelInternals {
    std::vector<nn::AttentionInternals> blocks;
};

class VisionModel : public nn::Module {
  public:
    explicit VisionModel(ModelConfig cfg) : cfg_(std::move(cfg)) {}
    // x: [B, C, img, img] -> logits [B, num_classes]. With `internals`, every block's attention
    // internals are recorded (detached; the computation is unchanged).
    virtual Tensor forward(const Tensor& x, ModelInternals* internals = nullptr) const = 0;
    const ModelConfig& config() const { return cfg_; }

    std::vector<std::shared_ptr<nn::Block>> blocks;

  protected:
    // Stochastic-depth rate of block i: r * i / (L - 1), a linspace from 0 to r.
    double drop_path_at(int64_t i) const;
    // Block i built from the model's configuration, with GPSA or MHSA attention.
    nn::BlockConfig block_config(int64_t i, bool use_gpsa) const;
    ModelConfig cfg_;
};

}  // namespace vg::models
