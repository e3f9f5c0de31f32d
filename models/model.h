// The configuration shared by the ViT-family models and the interface they implement.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/block.h"
#include "nn/internals.h"

namespace vg::models {

enum class Arch { DeiT, ConViT, Refiner, SimpleViT, FCViT };
// How the classifier reads the tokens: the class token after the final norm (DeiT), or the mean of
// the patch tokens followed by a LayerNorm `fc_norm` that replaces the final norm (timm's
// global_pool='avg', which structured-init v1 needs).
enum class Pool { Token, Avg };
// Learned [1, T, D] parameter, or the fixed 2-D sin-cos table (a buffer over the patch tokens).
enum class PosEmbed { Learned, SinCos2d };
// timm's trunc-normal(0.02) scheme, or PyTorch's per-module defaults (timm's weight_init='skip',
// what the structured-initialisation papers start from).
enum class WeightInit { Timm, Torch };

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
    bool class_token = true;         // DeiT: prepend a class token
    Pool pool = Pool::Token;         // DeiT (SimpleViT always averages, after its final norm)
    PosEmbed pos_embed = PosEmbed::Learned;  // DeiT; SimpleViT always uses its own sin-cos table
    WeightInit weight_init = WeightInit::Timm;
    // SimpleViT (CI-code vit.py): q and k read alpha * LN(x) + (1 - alpha) * PE (alpha = 1: plain
    // attention); with `input_pe` the PE is mixed into the tokens at the input instead.
    double spatial_alpha = 0.5;
    bool input_pe = false;
    double attn_scale = 0;  // SimpleViT: the attention logit scale; 0 means head_dim^-1/2
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

    // FCViT (Ma et al. 2022; ma-xu/FCViT models/fcvit.py), a 4-stage convolutional MetaFormer
    // without tokens: per-stage depths, widths and MLP ratios; the stem's 7x7 conv stride (4 as
    // released, 2 in the CIFAR sizes: a modification); the token mixer's depthwise kernel; the
    // global context's groups; the LayerScale init. The generic fields then describe the model as
    // the tools read them: patch_size = the stem stride (num_patches() is stage 1's grid),
    // embed_dim = the last width, depth = the number of blocks, num_heads = the context groups.
    std::vector<int64_t> fcvit_depths, fcvit_widths, fcvit_mlp_ratios;
    int64_t fcvit_kernel = 11;
    double fcvit_layer_scale = 1e-5;

    int64_t num_patches() const { return (img_size / patch_size) * (img_size / patch_size); }
    int64_t mlp_hidden() const { return int64_t(double(embed_dim) * mlp_ratio); }
};

// Per-block attention internals of one forward (blocks[i] for block i).
struct ModelInternals {
    std::vector<nn::AttentionInternals> blocks;
    // FCViT: every global-context module in forward order (per block gc1, then gc2).
    std::vector<nn::ContextInternals> contexts;
};

class VisionModel : public nn::Module {
  public:
    explicit VisionModel(ModelConfig cfg) : cfg_(std::move(cfg)) {}
    // x: [B, C, img, img] -> logits [B, num_classes]. With `internals`, every block's attention
    // internals are recorded (detached; the computation is unchanged).
    virtual Tensor forward(const Tensor& x, ModelInternals* internals = nullptr) const = 0;
    const ModelConfig& config() const { return cfg_; }

    // The transformer blocks of the token models (DeiT, ConViT); empty for the others, which keep
    // their own layers (SimpleViT, Refiner-ViT, FCViT's convolutional stages).
    std::vector<std::shared_ptr<nn::Block>> blocks;

  protected:
    // Stochastic-depth rate of block i: r * i / (L - 1), a linspace from 0 to r.
    double drop_path_at(int64_t i) const;
    // Block i built from the model's configuration, with GPSA or MHSA attention.
    nn::BlockConfig block_config(int64_t i, bool use_gpsa) const;
    ModelConfig cfg_;
};

}  // namespace vg::models
