// Multi-head self-attention (timm names: qkv, attn_drop, proj, proj_drop) and the interface every
// attention layer of a Block implements.
#pragma once
#include <memory>

#include "nn/attention_refiner.h"
#include "nn/dropout.h"
#include "nn/internals.h"
#include "nn/linear.h"

namespace vg::nn {

class AttentionLayer : public Module {
  public:
    AttentionLayer(int64_t dim, int64_t num_heads, const char* kind);
    // x: [B, T, C] -> [B, T, C]. With `internals`, the attention maps (and for GPSA the gate and
    // both branches) are written there, detached.
    virtual Tensor forward(const Tensor& x, AttentionInternals* internals = nullptr) const = 0;

    int64_t dim, num_heads, head_dim;
    double scale;  // head_dim^-1/2
};

class Attention : public AttentionLayer {
  public:
    Attention(int64_t dim, int64_t num_heads, bool qkv_bias = false, double attn_drop = 0.0,
              double proj_drop = 0.0);
    Tensor forward(const Tensor& x, AttentionInternals* internals = nullptr) const override;
    // Refiner (paper mode): refine the attention maps before they multiply the values (after the
    // attention dropout, as the released code orders them). Registered as `DLA`.
    void add_refiner(int64_t expand_ratio, int64_t kernel);

    std::shared_ptr<Linear> qkv, proj;  // qkv: [3C, C] (q rows, then k, then v; heads within each)
    std::shared_ptr<Dropout> attn_drop, proj_drop;
    std::shared_ptr<AttentionRefiner> refiner;  // null unless add_refiner was called
};

// Splits a fused projection y [B, T, k*C] into k tensors [B, H, T, d] (timm's reshape/permute).
std::vector<Tensor> split_heads(const Tensor& y, int64_t k, int64_t num_heads);
// o: [B, H, T, d] -> [B, T, H*d]
Tensor merge_heads(const Tensor& o);

}  // namespace vg::nn
