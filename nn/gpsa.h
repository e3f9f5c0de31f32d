// Gated positional self-attention (ConViT; timm names qk, v, proj, pos_proj, gating_param):
// A = (1 - sigmoid(lambda_h)) softmax(q k^T d^-1/2) + sigmoid(lambda_h) softmax(pos_proj(R)),
// rows renormalised, then A v. The positional branch does not depend on the batch and is computed
// once per forward as [1, H, N, N].
#pragma once
#include "nn/attention.h"

namespace vg::nn {

class GPSA : public AttentionLayer {
  public:
    GPSA(int64_t dim, int64_t num_heads, bool qkv_bias = false, double attn_drop = 0.0,
         double proj_drop = 0.0, double locality_strength = 1.0, bool use_local_init = true);
    // x: [B, N, C] patch tokens only (N a perfect square).
    Tensor forward(const Tensor& x, AttentionInternals* internals = nullptr) const override;

    // softmax over keys of pos_proj(R): [1, H, N, N]; differentiable in pos_proj.
    Tensor positional_attention(int64_t num_patches) const;
    // W_v = I; W_pos[h1 + k*h2] = alpha * (2(h2 - c), 2(h1 - c), -1); b_pos untouched
    // (facebookresearch/convit convit.py, GPSA.local_init; docs/derivations/convit-init.md).
    void local_init();

    double locality_strength;
    // Divides A by its row sums as the reference does; a no-op in exact arithmetic (ConViT
    // Eq. 6; facebookresearch/convit convit.py, GPSA.get_attention).
    bool normalize = true;
    std::shared_ptr<Linear> qk, v, proj, pos_proj;  // qk [2C, C], v [C, C], pos_proj [H, 3] + bias
    std::shared_ptr<Dropout> attn_drop, proj_drop;
    Tensor gating_param;  // lambda [H], 1 at init

  private:
    const Tensor& cached_rel_indices(int64_t n) const;
    mutable Tensor rel_;  // [N, N, 3] in the parameters' dtype/device
};

}  // namespace vg::nn
