// What an attention layer hands back when asked (for studying attention as ConViT §4 and App. D-F
// do), and the measurements computed from it. Asking never changes the training path: the tensors
// are detached copies-by-reference of values the forward computes anyway.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace vg::nn {

struct AttentionInternals {
    Tensor attn;     // [B, H, T, T] the maps applied to the values (after gating and dropout-free)
    Tensor content;  // GPSA only: softmax(q k^T * d^-1/2)  [B, H, N, N]
    Tensor positional;  // GPSA only: softmax(pos_proj(R))      [1, H, N, N] (batch-independent)
    Tensor gate;        // GPSA only: sigmoid(gating_param)     [H]
    // Refiner only: the refined maps that multiply the values [B, H, T, T]; `attn` then holds
    // the maps before refinement (for the released model's sharing blocks, the incoming map).
    Tensor refined;
};

// What FCViT's global-context module (ma-xu/FCViT models/fcvit.py, GlobalContext) offers in place
// of attention maps: every position takes the context vector of its group in proportion to its
// similarity, which is the same for every query (the map is query-independent).
struct ContextInternals {
    Tensor similarity;  // [B, G, H, W] the standardised, per-group rescaled similarity s-hat
    Tensor context;     // [B, C] the context vector (channels grouped as G x C / G)
};

// The fixed relative-position table R[i, j] = (dx, dy, dx^2 + dy^2) of key j minus query i, for N
// row-major tokens on an S x S grid (N must be a perfect square): [N, N, 3].
Tensor rel_indices(int64_t num_patches, DType dtype = DType::F32, Device device = Device::cpu());

// Side of the square token grid holding N tokens, or a vg::Error naming `op`.
int64_t grid_side(int64_t num_patches, const char* op);

// Non-locality per head (ConViT, d'Ascoli et al. 2021, Eq. 8): (1/N) sum_ij A_ij ||delta_ij||
// averaged over the batch, in patch units. attn: [B, H, T, T] or [H, T, T] with T = S^2 patch
// tokens, or S^2 + 1 when `has_cls` (the class token's row and column are dropped). Returns [H]
// float64 on the CPU.
std::vector<double> nonlocality(const Tensor& attn, bool has_cls = false);

// Non-locality of maps that are not distributions (Refiner's refined maps: no softmax after the
// convolution, entries of either sign): per image and head, the distance averaged with weights
// |A_ij|, sum_ij |A_ij| ||delta_ij|| / sum_ij |A_ij|, then the mean over the images. For maps whose
// rows are distributions over the N patches it equals nonlocality(). attn: [B, H, N, N] or
// [H, N, N] over the patch tokens only; a head whose map is all zero gives 0.
std::vector<double> weighted_nonlocality(const Tensor& attn);

// Non-locality of query-independent maps (FCViT's similarity s-hat): every query takes the same
// weights a_j over the keys, so the |A|-weighted non-locality of weighted_nonlocality is
// sum_j |a_j| dbar_j / sum_j |a_j| with dbar_j the mean distance from every patch to patch j; the
// mean over the images. maps: [B, G, N] (or [G, N]) over an S x S grid. Returns [G]; a group whose
// map is all zero gives 0.
std::vector<double> context_nonlocality(const Tensor& maps);

// The non-locality of a uniform map on an S x S grid: the mean distance between two patches
// (4.1365 on 8 x 8, 7.2808 on 14 x 14, 8.3261 on 16 x 16).
double uniform_nonlocality(int64_t side);

// Where a GPSA head looks, read from its row (w_x, w_y, w_d) of W_pos as the reference main.py
// does: the positional logit is -alpha ||delta - centre||^2 + const with alpha = -w_d and
// centre = (w_x, w_y) / (2 alpha). Only a head with w_d < 0 has a centre (its attention decays
// with distance); for the others `defined` is false and the numbers are 0.
struct AttentionCentre {
    double dx = 0, dy = 0;  // centre offset from the query, in patches (key minus query)
    double distance = 0;    // ||(dx, dy)||
    double alpha = 0;       // locality strength -w_d
    bool defined = false;
};
std::vector<AttentionCentre> attention_centres(const Tensor& pos_proj_weight);

// ||centre|| of every head (attention_centres), 0 for a head without a centre.
std::vector<double> attention_centre_distance(const Tensor& pos_proj_weight);

}  // namespace vg::nn
