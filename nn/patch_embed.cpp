// The reshape + GEMM patch embedding.
#include "nn/patch_embed.h"

#include "autograd/ops.h"
#include "nn/init.h"

namespace vg::nn {

PatchEmbed::PatchEmbed(int64_t img, int64_t p, int64_t c, int64_t d)
    : img_size(img), patch_size(p), in_chans(c), embed_dim(d) {
    if (p <= 0 || img <= 0 || img % p != 0)
        fail("PatchEmbed", "image size {} is not a positive multiple of the patch size {}", img, p);
    grid = img / p;
    num_patches = grid * grid;
    proj = register_module("proj", std::make_shared<Conv2d>(c, d, p, p));
}

Tensor PatchEmbed::forward(const Tensor& x) const {
    if (x.dim() != 4 || x.size(1) != in_chans || x.size(2) != img_size || x.size(3) != img_size)
        fail("PatchEmbed", "expected input [B, {}, {}, {}], got {}", in_chans, img_size, img_size,
             x.desc());
    const int64_t B = x.size(0), C = in_chans, S = grid, p = patch_size;
    // [B, C, S, p, S, p] -> [B, S(row), S(col), C, p, p]: each patch flattened in (c, ky, kx)
    // order, the order of the conv weight's [C, p, p] fan-in.
    Tensor patches =
        x.reshape({B, C, S, p, S, p}).permute({0, 2, 4, 1, 3, 5}).reshape({B, S * S, C * p * p});
    return linear(patches, proj->weight.view({embed_dim, C * p * p}), proj->bias);
}

}  // namespace vg::nn
