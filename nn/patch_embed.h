// Patch embedding: a Conv2d with kernel = stride = patch (timm's `patch_embed.proj`), computed as
// a pure reshape of the image into patches followed by one GEMM, since patches do not overlap.
#pragma once
#include <memory>

#include "nn/conv.h"

namespace vg::nn {

class PatchEmbed : public Module {
  public:
    PatchEmbed(int64_t img_size, int64_t patch_size, int64_t in_chans, int64_t embed_dim);
    // x: [B, C, img, img] -> [B, N, D] with tokens in row-major order over the patch grid.
    Tensor forward(const Tensor& x) const;

    int64_t img_size, patch_size, in_chans, embed_dim;
    int64_t grid;         // S = img / p
    int64_t num_patches;  // N = S^2
    std::shared_ptr<Conv2d> proj;
};

}  // namespace vg::nn
