// The Adam solve of structured-init v1 and its predecessor (arXiv 2404.01139 / arXiv
// 2401.12511; the `impulse_init` function of osiriszjq/structured_init and osiriszjq/impulse_init):
// learn Q_h [D, r] and K_h [r, D] per head so that softmax(scale P Q_h K_h P^T) fits the shift
// target T_h in mean squared error, with Adam (lr 1e-4, 10,000 iterations) and the column norms of
// Q (over D) and K (over r) reset to the initial mean column norm of Q every 100 iterations. It
// runs on vitgrad's own autograd and AdamW (weight decay 0, i.e. Adam), in float32 as the
// reference does, and its result is cached on disk keyed by every input.
#pragma once
#include <string>
#include <utility>

#include "core/random.h"
#include "core/tensor.h"

namespace vg {

struct ImpulseSolveOptions {
    double scale = 0.125;  // logit scale: head_dim^-1/2 (v1) or the string's scale (predecessor)
    int64_t iterations = 10000;
    double lr = 1e-4;
    int64_t renorm_every = 100;  // 0: never
};

struct ImpulseSolveResult {
    Tensor q, k;      // [H, D, r], [H, r, D], float32
    double loss = 0;  // the MSE of the last iteration (before its update), as the reference prints
    bool from_cache = false;
    std::string cache_file;  // empty when caching is off
    double seconds = 0;      // wall time of the solve or of the cache read
    double cpu_seconds = 0;  // CPU time of this process meanwhile (all threads)
};

// The starting factors of the released code, sqrt(1 / (r H)) U(-1, 1): q0 [H, D, r], k0 [H, r, D].
std::pair<Tensor, Tensor> impulse_initial_factors(int64_t heads, int64_t dim, int64_t rank,
                                                  Generator& gen);

// P [N, D] the pseudo-input (already normalised the way the method wants), targets [H, N, N].
// With a non-empty `cache_dir`, the result is looked up under a hash of P, the targets, q0, k0 and
// the options, and stored there after a solve. A cache file that cannot be read or does not match
// is reported on stderr and solved again (then overwritten); it never aborts the run.
ImpulseSolveResult solve_impulse(const Tensor& P, const Tensor& targets, const Tensor& q0,
                                 const Tensor& k0, const ImpulseSolveOptions& options,
                                 const std::string& cache_dir = "");

}  // namespace vg
