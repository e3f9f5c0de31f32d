// The mathematics of structured attention initialisation, on plain tensors (no model here): the
// impulse target maps, the pseudo-input, the closed-form solve of v2 and the mimetic factors.
// Sources: Zheng, Li, Lucey, "Structured Initialization for Attention in Vision Transformers"
// (arXiv 2404.01139; osiriszjq/structured_init), its NeurIPS 2025 successor (arXiv 2505.19985;
// osiriszjq/structured_initialization), its predecessor (arXiv 2401.12511; osiriszjq/impulse_init)
// and Trockman & Kolter, "Mimetic Initialization of Self-Attention Layers" (ICML 2023).
//
// Layout: per head h, Q_h is [D, r] and K_h is [r, D], so that the attention logits of tokens
// x_i, x_j are x_i Q_h K_h x_j^T. A qkv weight (PyTorch [out, in]) holds Q_h^T in the q rows
// [h r, (h + 1) r) and K_h in the k rows of the same range.
#pragma once
#include <vector>

#include "core/random.h"
#include "core/tensor.h"

namespace vg::nn::sinit {

// A head's target offset in patch units: the key sits `dy` rows and `dx` columns from the query.
struct Offset {
    int64_t dy = 0, dx = 0;
    bool operator==(const Offset& o) const { return dy == o.dy && dx == o.dx; }
};

// Tap k of an f x f window, row-major: (k div f - f div 2, k mod f - f div 2).
Offset kernel_offset(int64_t k, int64_t f);
// v1 and the predecessor: k_h uniform on {0, .., f^2 - 1}, independently per head.
std::vector<Offset> random_offsets(int64_t heads, int64_t f, Generator& gen);
// v2: the fixed 3x3 order k = [4, 1, 5, 3, 7, 0, 2, 6, 8][h mod 9], centre first.
std::vector<Offset> fixed_offsets_3x3(int64_t heads);

// Shift matrices on the S x S grid, [H, S^2, S^2] of `dtype`: T_h[(r, c), (r + dy, c + dx)] = 1
// where that key is inside the grid; rows whose target falls outside are zero (zero padding).
Tensor shift_targets(int64_t grid, const std::vector<Offset>& offsets, DType dtype = DType::F32);

// LayerNorm without affine over the last dim with PyTorch's default eps 1e-5: the pseudo-input
// P = LN(pos_embed) that v1 and v2 fit the attention of.
Tensor layer_norm_no_affine(const Tensor& x);

// v2's target logits W_h = scale T_h + 3 E [T_h = 0] (scale 1000 in the released code), with E
// the given noise of T's shape (trunc-normal, std 0.6, drawn by the caller).
Tensor impulse_v2_logits(const Tensor& targets, const Tensor& noise, double scale = 1000.0);

struct QKFactors {
    Tensor q;  // [H, D, r]
    Tensor k;  // [H, r, D]
};

// v2's closed form, in float64: with P [N, D], the rank-r pseudo-inverse of P^T P (its top r
// singular values) gives P+ = (P^T P)+ P^T [D, N]; per head M_h = P+ W_h P+^T [D, D] and its rank-r
// SVD M_h = U S V^T gives Q_h = U_r S_r^1/2 and K_h = (V_r S_r^1/2)^T, each scaled to unit
// Frobenius norm. logits: [H, N, N]. Singular vectors are sign-fixed (each left vector's entry of
// largest magnitude, the first on ties, is positive; its right vector flips with it), so the
// result does not depend on the SVD library; Q_h K_h does not depend on that choice at all.
QKFactors impulse_v2_factors(const Tensor& pseudo_input, const Tensor& logits, int64_t rank);

// Mimetic factors of A = alpha Z + beta I (beta may be negative): A = U S V^T, L = U S^1/2,
// R = S^1/2 V^T, so L R = A. Z [D, D]. float64 results, signs as in impulse_v2_factors.
struct MimeticFactors {
    Tensor L, R;  // [D, D]
};
MimeticFactors mimetic_factors(const Tensor& Z, double alpha, double beta);
// Z ~ U(-sqrt(3/D), sqrt(3/D)) (variance 1/D) [D, D] in float64, from `gen`.
Tensor mimetic_noise(int64_t dim, Generator& gen);

// Per-head measurements of attention maps against their targets (the proof the inits work).
// attn: [H, N, N] or [B, H, N, N] over the N = S^2 patch tokens only. For each head, over the
// query rows whose target lies inside the grid (and over the batch): the mean attention mass on
// the target key, and the mean distance in patch units between the row's attention centre
// sum_j A_ij (pos_j - pos_i) and the target offset.
struct TargetFit {
    std::vector<double> mass;      // [H]
    std::vector<double> distance;  // [H]
};
TargetFit target_fit(const Tensor& attn, const std::vector<Offset>& offsets);

}  // namespace vg::nn::sinit
