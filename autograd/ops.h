// The public differentiable API: every op, by family, with its shapes. Each is defined once in
// autograd/ops/<family>.cpp together with its backward.
#pragma once
#include <optional>
#include <vector>

#include "core/functors.h"
#include "core/random.h"
#include "core/reductions.h"
#include "core/tensor.h"

namespace vg {

// --- elementwise (ops/elementwise.cpp): NumPy broadcasting for binary ops ----------------------
Tensor unary(UnaryOp op, const Tensor& x, UnaryParams p = {});
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);  // 1 / sqrt(x)
Tensor abs(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
// min(max(x, 0), 6); gradient 1 strictly inside (0, 6), 0 at the bounds (nn.ReLU6).
Tensor relu6(const Tensor& x);
Tensor gelu(
    const Tensor& x);  // exact: x * Phi(x) = x/2 * (1 + erf(x / sqrt(2))), not the tanh form
Tensor pow(const Tensor& x, double exponent);
Tensor clamp(const Tensor& x, double lo, double hi);
Tensor add_scalar(const Tensor& x, double s);
Tensor mul_scalar(const Tensor& x, double s);

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// Comparisons: 1 or 0 in the (common) input dtype; not differentiable.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
// cond != 0 ? a : b, all three broadcast together; differentiable in a and b.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Sums `g` over broadcast dims so that it has `shape` (the adjoint of expand).
Tensor sum_to(const Tensor& g, const Shape& shape);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double s);
Tensor operator-(const Tensor& a, double s);
Tensor operator*(const Tensor& a, double s);
Tensor operator/(const Tensor& a, double s);
Tensor operator+(double s, const Tensor& a);
Tensor operator-(double s, const Tensor& a);
Tensor operator*(double s, const Tensor& a);

// --- reductions (ops/reduce.cpp): over `dims` (empty = all), keepdim keeps size-1 dims ---------
// reduce() runs any functor of VG_REDUCTIONS (core/reductions.h, where each states its formula);
// every entry X(Functor, name) of the list is also a named op
//   Tensor name(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// e.g. sum(x), mean(x, {-1}, true), max(x) (the maximum of all elements). As in PyTorch, max with
// one dim, max(x, 1) or max(x, {1}), is the overload below that also returns the positions.
Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims = {},
              bool keepdim = false);
#define VG_DECLARE_REDUCTION(Name, name) \
    Tensor name(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
VG_REDUCTIONS(VG_DECLARE_REDUCTION)
#undef VG_DECLARE_REDUCTION
// Variance with `correction` (0 biased, 1 unbiased) over `dims`.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1,
           bool keepdim = false);
// Max over one dim: values (differentiable, gradient to the first maximum) and int64 indices.
struct MaxResult {
    Tensor values, indices;
};
MaxResult max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);

// --- matmul (ops/matmul.cpp) ---------------------------------------------------------------------
// [..., M, K] @ [..., K, N] -> [..., M, N] with broadcast batch dims; 1-D operands as in NumPy.
// Transposed views are passed to the GEMM as flags, not copied.
// `alpha` scales the product inside the GEMM (attention's 1/sqrt(d) costs no extra pass).
Tensor matmul(const Tensor& a, const Tensor& b, double alpha = 1.0);
// x [..., in] @ w[out, in]^T + b[out] -> [..., out] (b may be undefined).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = {});

// --- softmax family (ops/softmax.cpp): stable, along `dim` ---------------------------------------
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);

// --- attention (ops/attention.cpp) --------------------------------------------------------------
// GPSA's gated mix: y = (1 - gate[h]) content + gate[h] positional for each head h, each row then
// divided by its sum when `normalize`. content [B, H, N, M]; positional [H, N, M] (shared by the
// batch); gate [H] (sigmoid of the gating parameters). One fused pass each way.
Tensor gated_mix(const Tensor& content, const Tensor& positional, const Tensor& gate,
                 bool normalize = true);
// Multi-head scaled dot-product attention (ops/multi_head_attention.cpp) on the fused
// projections of timm's layers, heads merged on output: for each head h of `heads`, maps =
// softmax(scale q_h k_hᵀ) and out_h = maps v_h. qk is [B, T, 3C] (q, k, v side by side) with v
// undefined, or [B, T, 2C] (q, k) with v [B, T, C]; C = heads * d. With pos [H, T, T] and gate
// [H] (both or neither), the maps are GPSA's gated_mix(maps, pos, gate, normalize). Returns
// [B, T, C]. On the CPU one fused pass per (image, head) each way that keeps only the maps
// backward needs; on CUDA the composite of matmul, softmax and gated_mix. `maps`, when given,
// receives them detached, for the internals tools (read them, never write: the backward reads
// the same memory). Layers whose maps feed further ops (attention dropout, the Refiner) compose
// those ops instead.
struct AttentionMaps {
    Tensor content;  // [B, H, T, T] softmax(scale q kᵀ)
    Tensor attn;     // [B, H, T, T] the maps that multiply v: gated_mix's output, else content
};
// Whether multi_head_attention runs its fused kernels on the CPU (the default) or the composite
// CUDA runs: for before / after benchmarks in one binary (`vitgrad bench --cpu-attention`) and
// for the tests that hold the two equal. Process-wide.
void set_fused_cpu_attention(bool fused);
bool fused_cpu_attention();
Tensor multi_head_attention(const Tensor& qk, const Tensor& v, int64_t heads, double scale,
                            const Tensor& pos = {}, const Tensor& gate = {}, bool normalize = true,
                            AttentionMaps* maps = nullptr);

// --- normalisation (ops/layernorm.cpp) -----------------------------------------------------------
// Over the last dim of x [..., C]; w, b [C] optional; biased variance.
Tensor layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps = 1e-5);

// --- group normalisation (ops/groupnorm.cpp) ---------------------------------------------------
// x [B, C, ...] in num_groups groups of C / num_groups consecutive channels: each (sample, group)
// is normalised with its mean and biased variance over (C / num_groups, ...), then scaled by
// weight and shifted by bias [C] (both optional), as torch.nn.functional.group_norm. One group is
// a LayerNorm over (C, H, W) with per-channel affine parameters (FCViT's GroupNorm).
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);
// (x - mean) / (std + eps) over `dims` (empty = all), std with `correction` (1: unbiased, the
// default of torch.std_mean; 0: biased). The epsilon is added to the std, not to the variance, as
// FCViT's global context does (ma-xu/FCViT models/fcvit.py). Needs more than `correction`
// elements per set. Where the std is 0 the gradient through it is taken as 0.
Tensor standardize(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction = 1,
                   double eps = 1e-5);

// --- batch normalisation (ops/batchnorm.cpp) ---------------------------------------------------
// Normalises each channel (dim 1) of x [B, C, ...]: y = (x - mean) / sqrt(var + eps) * w + b, w and
// b [C] optional. training (or no running statistics): mean and biased var over every dim but 1,
// and running_mean / running_var (given together, [C], or both undefined) are updated in place as
// PyTorch does: r = (1 - momentum) r + momentum * stat, with the unbiased variance. eval: the
// running statistics, which are then constants for backward.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                  Tensor running_var, bool training, double momentum = 0.1, double eps = 1e-5);

// --- losses (ops/loss.cpp) -----------------------------------------------------------------------
// Mean cross-entropy of logits [B, K] against int64 labels [B], with label smoothing s: the
// target is (1 - s) * one_hot + s / K.
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, double label_smoothing = 0.0);
// Mean cross-entropy against soft targets [B, K] (rows sum to 1: mixup/cutmix).
Tensor cross_entropy_soft(const Tensor& logits, const Tensor& targets);

// --- indexing (ops/index.cpp) --------------------------------------------------------------------
// y[..., j, ...] = x[..., index[..., j, ...], ...] along dim; index int64 with x's rank.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// Picks slices index[j] of x along dim; index int64 [J].
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// int64 labels [...] -> [..., num_classes] of `dtype` (not differentiable).
Tensor one_hot(const Tensor& labels, int64_t num_classes, DType dtype = DType::F32);

// --- shape ops (ops/views.cpp, ops/shape.cpp)
// -----------------------------------------------------
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
// Views of consecutive chunks of `sizes` along dim (sizes must sum to the extent).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
// Views x.select(dim, i) for every i, recorded as ONE node whose backward writes all gradients
// into a single buffer (N selects would each zero-fill a full-size gradient and then add them).
std::vector<Tensor> unbind(const Tensor& x, int64_t dim);
// Zero padding: pads[2i], pads[2i+1] = (before, after) of dim (ndim - 1 - i), as
// torch.nn.functional.pad.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0.0);

// --- regularisation (ops/dropout.cpp) ------------------------------------------------------------
// Zeroes each element with probability p, scales survivors by 1/(1-p); identity when !train.
Tensor dropout(const Tensor& x, double p, bool train, Generator* gen = nullptr);
// Stochastic depth: zeroes whole samples (dim 0) with probability p, scales survivors by 1/(1-p).
Tensor drop_path(const Tensor& x, double p, bool train, Generator* gen = nullptr);

// --- convolution (ops/conv.cpp) ------------------------------------------------------------------
// x [B, C, H, W], w [O, C / groups, kh, kw], b [O] optional -> [B, O, Ho, Wo]; dilation 1.
// Depthwise stride-1 convolutions up to 11x11 run direct kernels, unpadded stride-1 1x1
// convolutions one GEMM over the channels, everything else im2col + (grouped) GEMM.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b = {}, int64_t stride = 1,
              int64_t padding = 0, int64_t groups = 1);

}  // namespace vg
