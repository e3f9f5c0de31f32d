// FCViT (Ma et al. 2022, "A Close Look at Spatial Modeling: From Attention to Convolution", arXiv
// 2212.12552), as released in ma-xu/FCViT models/fcvit.py, with the released parameter names so
// that its state dicts load strictly:
//   patch_embed (7x7 conv, stride 4, pad 3, bias; BatchNorm2d)
//   network.0   stage 1: blocks network.0.<j>          (width C1)
//   network.1   downsample (3x3 conv, stride 2, pad 1, bias; BatchNorm2d) C1 -> C2
//   network.2   stage 2 ... network.6 stage 4
//   norm        GroupNorm with 1 group; head: Linear(C4 -> K) on the mean over positions.
// A block is x <- x + DropPath(layer_scale_1 * TokenMixer(norm1(x))), then
// x <- x + DropPath(layer_scale_2 * ChannelMixer(norm2(x))), with GroupNorm(1) norms and
// LayerScales initialised to 1e-5 (the value basic_blocks passes). The CIFAR sizes only change the
// stem's stride (2: 32 -> 16 -> 8 -> 4 -> 2), a modification of the released model.
#pragma once
#include <memory>
#include <vector>

#include "models/model.h"
#include "nn/batchnorm.h"
#include "nn/dropout.h"
#include "nn/fcvit_mixers.h"
#include "nn/group_norm.h"

namespace vg::models {

// The stem's kernel (7 x 7, padding 3) at every stride.
constexpr int64_t kFCViTStemKernel = 7;

// Conv (init N(0, 2 / fan_out), bias 0) followed by BatchNorm2d: the stem and the downsamplings
// (the released OverlapPatchEmbed: `proj`, `norm`).
class OverlapPatchEmbed : public nn::Module {
  public:
    OverlapPatchEmbed(int64_t in, int64_t out, int64_t kernel, int64_t stride);
    Tensor forward(const Tensor& x) const;  // [B, in, H, W] -> [B, out, H', W']

    std::shared_ptr<nn::Conv2d> proj;
    std::shared_ptr<nn::BatchNorm2d> norm;
};

class FCViTBlock : public nn::Module {
  public:
    FCViTBlock(int64_t dim, int64_t mlp_ratio, int64_t kernel, int64_t gc_groups,
               double layer_scale, double drop, double drop_path);
    // x: [B, C, H, W] -> [B, C, H, W]; `internals` receives gc1's and gc2's internals.
    Tensor forward(const Tensor& x, std::vector<nn::ContextInternals>* internals = nullptr) const;

    std::shared_ptr<nn::GroupNorm> norm1, norm2;
    std::shared_ptr<nn::TokenMixer> token_mixer;
    std::shared_ptr<nn::ChannelMixer> channel_mixer;
    std::shared_ptr<nn::DropPath> drop_path;
    Tensor layer_scale_1, layer_scale_2;  // [C]
};

class FCViT : public VisionModel {
  public:
    explicit FCViT(const ModelConfig& cfg);
    // x: [B, 3, H, W] -> logits [B, K]; `internals` receives every global context's internals.
    Tensor forward(const Tensor& x, ModelInternals* internals = nullptr) const override;

    std::shared_ptr<OverlapPatchEmbed> patch_embed;
    std::vector<std::shared_ptr<FCViTBlock>> stage_blocks;        // all blocks, stage by stage
    std::vector<int64_t> block_stage;                             // the stage of each block
    std::vector<std::shared_ptr<OverlapPatchEmbed>> downsamples;  // before stages 2, 3, 4
    std::shared_ptr<nn::GroupNorm> norm;
    std::shared_ptr<nn::Linear> head;
};

// Checks the FCViT fields of a configuration (a vg::Error naming what is wrong).
void check_fcvit_config(const ModelConfig& c);
// Parameter count and forward FLOPs per image (2 per multiply-add of every conv, Linear and the
// context's similarity products) of the model `c` describes, without building it.
int64_t fcvit_parameters(const ModelConfig& c);
int64_t fcvit_flops(const ModelConfig& c);

}  // namespace vg::models
