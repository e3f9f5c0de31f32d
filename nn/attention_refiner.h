// Refiner's transform of attention maps (Zhou et al. 2021, "Refiner: Refining Self-attention for
// Vision Transformers", Sec. 3; released code zhoudaquan/Refiner_ViT models/refiner_utils.py, DLA
// with refine_mode 'conv_exapnd'): the H maps of a layer, seen as an image with H channels on the
// T x T (query, key) grid, are expanded to e*H maps by a 1x1 convolution over the heads, each
// expanded map is convolved with its own k x k kernel ("distributed local attention"), and a
// second 1x1 convolution reduces them back to H maps, added to the input:
//   A -> Conv1x1(H -> eH) -> BN -> ReLU6 -> depthwise kxk -> BN -> ReLU6 -> Conv1x1(eH -> H) -> BN
//     -> + A.
// The convolutions have no bias; the names are the released code's (conv_exp, bn1,
// depth_sep_conv, bn2, conv_pro, bn3), so its checkpoints load by name.
#pragma once
#include <memory>

#include "nn/batchnorm.h"
#include "nn/conv.h"

namespace vg::nn {

class AttentionRefiner : public Module {
  public:
    // expand_ratio 1 skips the expansion (conv_exp, bn1), as the released code does.
    AttentionRefiner(int64_t num_heads, int64_t expand_ratio = 3, int64_t kernel = 3);
    // a: [B, H, T, T] -> [B, H, T, T]
    Tensor forward(const Tensor& a) const;

    int64_t num_heads, expand_ratio, kernel;
    std::shared_ptr<Conv2d> conv_exp, depth_sep_conv, conv_pro;  // conv_exp null when e == 1
    std::shared_ptr<BatchNorm2d> bn1, bn2, bn3;                  // bn1 null when e == 1
};

// Parameters of AttentionRefiner(heads, expand_ratio, kernel), and its convolutions'
// multiply-adds on one T x T map set (for dry counts).
int64_t attention_refiner_parameters(int64_t heads, int64_t expand_ratio, int64_t kernel);
int64_t attention_refiner_macs(int64_t heads, int64_t expand_ratio, int64_t kernel, int64_t T);

}  // namespace vg::nn
