// Structured attention initialisation of a built model: every `--attn-init` option, parsed from
// its text form and applied to the attention weights of a DeiT/ViT or SimpleViT.
//
//   impulse3, impulse5   v1 (arXiv 2404.01139, osiriszjq/structured_init): per head a random
//                        tap of a 3x3 / 5x5 window; Q_h, K_h from the Adam solve on the pseudo-
//                        input P = LN(pos_embed), solved once and copied to every layer.
//                        Options after ':' (comma separated): pseudo=P|U|G|A|B, init_once=
//                        true|false, iters=N, lr=X, renorm=N.
//   impulse_v2           v2 (arXiv 2505.19985, osiriszjq/structured_initialization): pos_embed
//                        scaled by norm_p, Q_h, K_h in closed form per layer with fresh noise,
//                        fixed 3x3 tap order, V/proj a negative mimetic identity. Options:
//                        norm_p=, norm_q=, norm_v= (default 18, 7, 1).
//   impulse{S}_{r}_{f}_{scale}_{renorm}
//   impulse_ci           the predecessor (arXiv 2401.12511, osiriszjq/impulse_init), SimpleViT
//                        only: the Adam solve on the raw sin-cos table for every layer, with
//                        `scale` as the logit scale, which also replaces the model's attention
//                        scale. impulse_ci = impulse{S}_{head_dim}_5_0.1_100 for the model's S.
//                        Options: iters=, lr=.
//   mimetic, mimetic{a}_{b}
//                        Trockman & Kolter 2023 as SI1/SI2 `get_ortho_like`: per head W_q W_k^T
//                        ~ a Z + b I (0.7, 0.7), and per layer the value path ~ 0.4 Z - 0.4 I.
//
// Every option draws from the given generator only, so a seed fixes the result.
#pragma once
#include <string>
#include <vector>

#include "core/random.h"
#include "models/model.h"
#include "nn/structured_init.h"
#include "train/init/impulse_solve.h"

namespace vg {

enum class AttnInitKind { None, ImpulseV1, ImpulseV2, ImpulseCI, Mimetic };

struct AttnInitSpec {
    AttnInitKind kind = AttnInitKind::None;
    std::string text;
    int64_t kernel = 3;         // window side f
    char pseudo = 'P';          // v1 pseudo-input: P (pos_embed), U, G (noise), A, B (P + noise)
    bool init_once = true;      // v1: solve for layer 0 and copy to every layer
    int64_t ci_grid = 0;        // predecessor: S of the string (0: the model's grid)
    int64_t ci_rank = 0;        // predecessor: r of the string (0: the model's head_dim)
    ImpulseSolveOptions solve;  // scale is set per model (v1) or from the string (predecessor)
    double norm_p = 18, norm_q = 7, norm_v = 1;                         // v2
    double qk_alpha = 0.7, qk_beta = 0.7, v_alpha = 0.4, v_beta = 0.4;  // mimetic, v2 V/proj
};

// Parses an option (see above); "" and "none" give kind None. Errors name the option.
AttnInitSpec parse_attn_init(const std::string& text);

// The attention logit scale a model must be built with for `spec` (the predecessor's scale for
// SimpleViT; 0 = unchanged), so that a model rebuilt from a checkpoint computes what was trained.
double attn_init_model_scale(const AttnInitSpec& spec);

// The model configuration a run describes: the registry entry, then `model_kwargs`
// (models::apply_model_kwargs), then the attention scale the attn-init option implies.
models::ModelConfig run_model_config(const std::string& model, const std::string& model_kwargs,
                                     const std::string& attn_init);

struct AttnInitReport {
    AttnInitSpec spec;
    // Per layer: the target tap of every head (empty for mimetic) and the pseudo-input [N, D] the
    // layer's q/k were fitted to (undefined for mimetic).
    std::vector<std::vector<nn::sinit::Offset>> targets;
    std::vector<Tensor> pseudo_inputs;
    int solves = 0, cache_hits = 0;
    std::vector<double> losses;  // final MSE of every Adam solve
    std::vector<std::string> cache_files;
    double seconds = 0;           // wall time of the whole init
    double cpu_seconds = 0;       // CPU time of the process meanwhile (all threads)
    std::string summary() const;  // one line for logs
};

// Applies `spec` to `model` (its attention weights, and pos_embed for v2, and the attention scale
// for the predecessor), drawing from `gen`. The model is expected freshly built; the other weights
// are left as they are (the papers start from PyTorch's defaults: weight_init=skip). Errors name
// the option and the model when they do not fit (ConViT, a rank != head_dim, a grid mismatch).
AttnInitReport apply_attn_init(models::VisionModel& model, const AttnInitSpec& spec, Generator& gen,
                               const std::string& cache_dir = "");

// What each layer's q/k weights (with their biases) do to the pseudo-input it was fitted to:
// softmax(scale (P W_q^T + b_q)(P W_k^T + b_k)^T) per head, [H, N, N] per layer.
std::vector<Tensor> pseudo_input_maps(const models::VisionModel& model,
                                      const AttnInitReport& report);

}  // namespace vg
