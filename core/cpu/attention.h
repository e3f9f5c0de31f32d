// CPU fused multi-head attention, the kernels behind autograd/ops/attention.cpp's
// multi_head_attention on the CPU (CUDA runs that op as its composite of matmul, softmax and
// gated_mix, so these kernels are not in core/kernel_list.inc).
//
// One task per (image, head) tile: scores, softmax, GPSA's gated mix and the product with v run
// while the tile's operands sit in the core's caches, q, k and v are read straight out of the
// fused projection's rows and the output is written with its heads merged. That removes the head
// split and merge copies, the operand packing of many small library GEMMs and the separate passes
// over the [B, H, T, T] maps that the composite form takes.
#pragma once
#include "core/tensor.h"

namespace vg::cpu {

struct AttentionArgs {
    // [B, T, H * d] each, unit stride along the last dim, any batch and row stride (slices of
    // one [B, T, 3C] projection, or of [B, T, 2C] and [B, T, C]).
    Tensor q, k, v;
    // GPSA's positional maps [H, T, T] and gates [H], contiguous; both undefined for plain
    // attention.
    Tensor pos, gate;
    bool normalize = true;  // with a gate: renormalise each mixed row by its sum
    double scale = 1.0;     // scores = scale * q kᵀ
    int64_t heads = 1;
};

// Images per backward task: each task owns the positional gradient of its (image block, head),
// and the blocks are summed in a fixed order afterwards, so the result does not depend on the
// number of threads.
constexpr int64_t kAttentionImageBlock = 4;

// o [B, T, H d] contiguous; probs [B, H, T, T] = softmax(scale q kᵀ); with a gate also
// mixed [B, H, T, T] (the maps that multiply v) and, when normalising, rowsum [B, H, T].
void attention_fwd(const AttentionArgs& a, Tensor& o, Tensor& probs, Tensor& mixed, Tensor& rowsum);

// From the forward's probs / mixed / rowsum and dout [B, T, H d] (contiguous): dq, dk, dv
// ([B, T, H d] views with unit last stride, every element written); with a gate also dpos
// [H, T, T] and dgate [H], through the scratch pos_parts [ceil(B / kAttentionImageBlock), H, T,
// T] and gate_parts [ceil(B / kAttentionImageBlock), H] (all contiguous).
void attention_bwd(const AttentionArgs& a, const Tensor& probs, const Tensor& mixed,
                   const Tensor& rowsum, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                   Tensor& dpos, Tensor& dgate, Tensor& pos_parts, Tensor& gate_parts);

}  // namespace vg::cpu
