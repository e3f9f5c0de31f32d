// Fixed 2-D sine-cosine position embeddings for tokens in row-major order on an S x S grid. Two
// layouts exist in the structured-initialisation code, and the impulse solves depend on which one
// the model uses, so both are kept exactly.
#pragma once
#include "core/tensor.h"

namespace vg::nn {

enum class SinCosLayout {
    // timm's build_sincos2d_pos_embed (SI1-code, structured_init @ 9c2d0e0): with
    // w_k = 10000^(-k / (D/4)), k = 0..D/4-1, the channels are
    // [sin(row w), sin(col w), cos(row w), cos(col w)], D/4 each.
    Timm,
    // posemb_sincos_2d of the predecessor's SimpleViT (osiriszjq/impulse_init vit.py): with
    // w_k = 10000^(-k / (D/4 - 1)), the channels are [sin(col w), cos(col w), sin(row w),
    // cos(row w)].
    SimpleViT,
};

// [S * S, dim] embedding (dim must be a positive multiple of 4; SimpleViT needs dim >= 8).
// Computed in float64 and converted to `dtype`.
Tensor sincos_pos_embed_2d(int64_t grid, int64_t dim, SinCosLayout layout,
                           DType dtype = DType::F32);

}  // namespace vg::nn
