// FCViT's global-context module (Ma et al. 2022, "A Close Look at Spatial Modeling: From Attention
// to Convolution", arXiv 2212.12552; ma-xu/FCViT models/fcvit.py, GlobalContext with weighted_gc
// and compete on, as every released model sets them). Deep ViT attention maps barely depend on the
// query, so instead of attention each position takes one pooled context vector in proportion to
// its similarity with it. For x [B, C, H, W], N = H W positions, G groups of c = C / G channels:
//   g = mean over positions of x                                    [B, C]
//   s[b, k, n] = (x[b, k, :, n] . g[b, k, :]) / sqrt(c)             [B, G, N]
//   s-hat = (s - mean) / (std + 1e-5), mean and unbiased std over (G, N) per sample
//   s-hat <- rescale_weight[k] s-hat + rescale_bias[k]
//   gc = fc2(max of the two halves of fc1(g))                       [B, C] (competition, C/8 wide)
//   out[b, k c + i, n] = s-hat[b, k, n] gc[b, k c + i]               [B, C, H, W]
// The caller adds the output to x.
#pragma once
#include <memory>

#include "nn/internals.h"
#include "nn/linear.h"

namespace vg::nn {

class GlobalContext : public Module {
  public:
    // dim divisible by groups and by reduction.
    explicit GlobalContext(int64_t dim, int64_t groups = 8, int64_t reduction = 8);
    // x: [B, C, H, W] -> [B, C, H, W]; `internals` receives s-hat and gc (detached).
    Tensor forward(const Tensor& x, ContextInternals* internals = nullptr) const;

    int64_t dim, groups, reduction;
    double eps = 1e-5;
    std::shared_ptr<Linear> fc1;  // C -> 2 C / reduction (two competing halves)
    std::shared_ptr<Linear> fc2;  // C / reduction -> C
    Tensor rescale_weight;        // [G], 1
    Tensor rescale_bias;          // [G], 0
};

}  // namespace vg::nn
