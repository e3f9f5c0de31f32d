// SimpleViT model.
#include "models/simplevit.h"

#include <cmath>

#include "autograd/ops.h"
#include "nn/attention.h"
#include "nn/init.h"
#include "nn/pos_embed.h"

namespace vg::models {

namespace {
constexpr double kTorchLayerNormEps = 1e-5;
}

SimpleViTAttention::SimpleViTAttention(int64_t d, int64_t h, double s)
    : dim(d), num_heads(h), scale(s) {
    if (d <= 0 || h <= 0 || d % h != 0)
        fail("SimpleViTAttention", "dim {} must be a positive multiple of num_heads {}", d, h);
    if (!(s > 0) || !std::isfinite(s))
        fail("SimpleViTAttention", "the attention scale must be positive and finite, got {}", s);
    head_dim = d / h;
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(d, kTorchLayerNormEps));
    to_qk = register_module("to_qk", std::make_shared<nn::Linear>(d, 2 * d, false));
    to_v = register_module("to_v", std::make_shared<nn::Linear>(d, d, false));
    to_out = register_module("to_out", std::make_shared<nn::Linear>(d, d, false));
}

Tensor SimpleViTAttention::forward(const Tensor& x, const Tensor& pe, double alpha,
                                   nn::AttentionInternals* internals) const {
    if (x.dim() != 3 || x.size(2) != dim)
        fail("SimpleViTAttention", "expected input [B, N, {}], got {}", dim, x.desc());
    Tensor xn = norm->forward(x);
    Tensor qk_in = alpha == 1.0 ? xn : xn * alpha + pe * (1.0 - alpha);
    auto qk = nn::split_heads(to_qk->forward(qk_in), 2, num_heads);  // q, k: [B, H, N, d]
    Tensor v = nn::split_heads(to_v->forward(xn), 1, num_heads)[0];
    Tensor a = softmax(matmul(qk[0], qk[1].transpose(-2, -1), scale), -1);
    if (internals) {
        *internals = nn::AttentionInternals{};
        internals->attn = a.detach();
    }
    return to_out->forward(nn::merge_heads(matmul(a, v)));
}

SimpleViT::SimpleViT(const ModelConfig& c) : VisionModel(c) {
    if (c.arch != Arch::SimpleViT)
        fail("SimpleViT", "config '{}' is not a SimpleViT config", c.name);
    if (c.depth < 1) fail("SimpleViT", "depth must be at least 1, got {}", c.depth);
    if (c.patch_size <= 0 || c.img_size % c.patch_size != 0)
        fail("SimpleViT", "image size {} is not a positive multiple of the patch size {}",
             c.img_size, c.patch_size);
    if (!(c.spatial_alpha >= 0.0 && c.spatial_alpha <= 1.0))
        fail("SimpleViT", "spatial_alpha must lie in [0, 1], got {}", c.spatial_alpha);
    if (c.attn_scale < 0 || !std::isfinite(c.attn_scale))
        fail("SimpleViT", "attn_scale must be 0 (head_dim^-1/2) or positive, got {}", c.attn_scale);
    const int64_t D = c.embed_dim, P = c.in_chans * c.patch_size * c.patch_size;
    grid = c.img_size / c.patch_size;
    auto patch = register_module("to_patch_embedding", std::make_shared<ModuleList>());
    patch_norm_in = patch->add("1", std::make_shared<nn::LayerNorm>(P, kTorchLayerNormEps));
    patch_linear = patch->add("2", std::make_shared<nn::Linear>(P, D));
    patch_norm_out = patch->add("3", std::make_shared<nn::LayerNorm>(D, kTorchLayerNormEps));
    pos_embed =
        nn::sincos_pos_embed_2d(grid, D, nn::SinCosLayout::SimpleViT).reshape({1, grid * grid, D});
    register_buffer("pos_embedding", &pos_embed);

    const int64_t heads = c.num_heads, M = c.mlp_hidden();
    if (heads <= 0 || D % heads != 0)
        fail("SimpleViT", "dim {} must be a positive multiple of num_heads {}", D, heads);
    const double scale = c.attn_scale > 0 ? c.attn_scale : 1.0 / std::sqrt(double(D / heads));
    auto transformer = register_module("transformer", std::make_shared<ModuleList>());
    auto layers = transformer->add("layers", std::make_shared<ModuleList>());
    for (int64_t i = 0; i < c.depth; ++i) {
        auto layer = layers->add(std::to_string(i), std::make_shared<ModuleList>());
        attn.push_back(layer->add("0", std::make_shared<SimpleViTAttention>(D, heads, scale)));
        auto net = layer->add("1", std::make_shared<ModuleList>())
                       ->add("net", std::make_shared<ModuleList>());
        ff_norm.push_back(net->add("0", std::make_shared<nn::LayerNorm>(D, kTorchLayerNormEps)));
        ff_fc1.push_back(net->add("1", std::make_shared<nn::Linear>(D, M)));
        ff_fc2.push_back(net->add("3", std::make_shared<nn::Linear>(M, D)));
    }
    norm = transformer->add("norm", std::make_shared<nn::LayerNorm>(D, kTorchLayerNormEps));
    linear_head = register_module("linear_head", std::make_shared<nn::Linear>(D, c.num_classes));
    if (c.weight_init == WeightInit::Torch) nn::init::reset_linears_to_torch_default(*this);
}

double SimpleViT::qk_alpha() const { return cfg_.input_pe ? 1.0 : cfg_.spatial_alpha; }

Tensor SimpleViT::forward(const Tensor& x, ModelInternals* internals) const {
    const ModelConfig& c = cfg_;
    if (x.dim() != 4 || x.size(1) != c.in_chans || x.size(2) != c.img_size ||
        x.size(3) != c.img_size)
        fail("SimpleViT", "expected input [B, {}, {}, {}], got {}", c.in_chans, c.img_size,
             c.img_size, x.desc());
    const int64_t B = x.size(0), C = c.in_chans, S = grid, p = c.patch_size;
    // "b c (h p1) (w p2) -> b (h w) (p1 p2 c)": channels vary fastest within a patch.
    Tensor t =
        x.reshape({B, C, S, p, S, p}).permute({0, 2, 4, 3, 5, 1}).reshape({B, S * S, p * p * C});
    t = patch_norm_out->forward(patch_linear->forward(patch_norm_in->forward(t)));
    if (c.input_pe) t = t * c.spatial_alpha + pos_embed * (1.0 - c.spatial_alpha);
    if (internals) internals->blocks.assign(attn.size(), {});
    const double alpha = qk_alpha();
    for (size_t i = 0; i < attn.size(); ++i) {
        t = attn[i]->forward(t, pos_embed, alpha, internals ? &internals->blocks[i] : nullptr) + t;
        t = ff_fc2[i]->forward(gelu(ff_fc1[i]->forward(ff_norm[i]->forward(t)))) + t;
    }
    return linear_head->forward(mean(norm->forward(t), {1}));
}

}  // namespace vg::models
