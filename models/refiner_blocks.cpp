// Refiner-ViT layers (released-code mode).
#include "models/refiner_blocks.h"

#include "autograd/ops.h"
#include "nn/scale.h"

namespace vg::models {

RefinerAttention::RefinerAttention(int64_t d, int64_t h, bool share, bool qkv_bias, double attn_p,
                                   double proj_p, int64_t expand_ratio, int64_t kernel)
    : AttentionLayer(d, h, "RefinerAttention"), sharing(share) {
    if (sharing) {
        refiner =
            register_module("DLA", std::make_shared<nn::AttentionRefiner>(h, expand_ratio, kernel));
        adapt_bn = register_module("adapt_bn", std::make_shared<nn::BatchNorm2d>(h));
    }
    qkv = register_module("qkv", std::make_shared<nn::Linear>(d, sharing ? d : 3 * d, qkv_bias));
    attn_drop = register_module("attn_drop", std::make_shared<nn::Dropout>(attn_p));
    proj = register_module("proj", std::make_shared<nn::Linear>(d, d));
    proj_drop = register_module("proj_drop", std::make_shared<nn::Dropout>(proj_p));
}

std::pair<Tensor, Tensor> RefinerAttention::forward(const Tensor& x, const Tensor& prev,
                                                    nn::AttentionInternals* internals) const {
    if (x.dim() != 3 || x.size(2) != dim)
        fail("RefinerAttention", "expected input [B, T, {}], got {}", dim, x.desc());
    const int64_t B = x.size(0), T = x.size(1);
    if (prev.defined() && prev.shape() != Shape{B, num_heads, T, T})
        fail("RefinerAttention", "the previous attention map {} must be [{}, {}, {}, {}]",
             prev.desc(), B, num_heads, T, T);
    if (internals) *internals = nn::AttentionInternals{};
    Tensor maps, v, next;
    if (sharing) {
        if (!prev.defined())
            fail("RefinerAttention",
                 "a sharing block refines the previous block's attention map, but none was given "
                 "(the first block must be a computing block)");
        maps = adapt_bn->forward(refiner->forward(prev)) * scale;
        v = nn::split_heads(qkv->forward(x), 1, num_heads)[0];
        next = prev;
        if (internals) {
            internals->attn = prev.detach();
            internals->refined = maps.detach();
        }
    } else {
        auto qkv_h = nn::split_heads(qkv->forward(x), 3, num_heads);  // q, k, v: [B, H, T, d]
        maps = softmax(matmul(qkv_h[0], qkv_h[1].transpose(-2, -1), scale), -1);
        if (prev.defined()) maps = maps + prev * scale;
        maps = attn_drop->forward(maps);
        v = qkv_h[2];
        next = maps;
        if (internals) internals->attn = maps.detach();
    }
    Tensor o = matmul(maps, v);
    return {proj_drop->forward(proj->forward(nn::merge_heads(o))), next};
}

Tensor RefinerAttention::forward(const Tensor& x, nn::AttentionInternals* internals) const {
    return forward(x, Tensor(), internals).first;
}

RefinerMlp::RefinerMlp(int64_t d, int64_t hidden, double p, double scale_init) {
    scale_channel = Tensor::full({d}, scale_init);
    register_parameter("scale_channel", &scale_channel);
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(d, hidden));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(hidden, d));
    act = register_module("act", std::make_shared<nn::GELU>());
    drop = register_module("drop", std::make_shared<nn::Dropout>(p));
}

Tensor RefinerMlp::forward(const Tensor& x) const {
    Tensor h = drop->forward(act->forward(fc1->forward(x)));
    return drop->forward(nn::scale_channels(fc2->forward(h), scale_channel));
}

RefinerBlock::RefinerBlock(const RefinerBlockConfig& c) : cfg(c) {
    if (!(c.adjust_ratio > 0))
        fail("RefinerBlock", "adjust_ratio must be positive, got {}", c.adjust_ratio);
    norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(c.dim, c.norm_eps));
    attn = register_module(
        "attn", std::make_shared<RefinerAttention>(c.dim, c.num_heads, c.sharing, c.qkv_bias,
                                                   c.attn_drop, c.drop, c.expand_ratio, c.kernel));
    drop_path = register_module("drop_path", std::make_shared<nn::DropPath>(c.drop_path));
    norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(c.dim, c.norm_eps));
    mlp = register_module(
        "mlp", std::make_shared<RefinerMlp>(c.dim, int64_t(double(c.dim) * c.mlp_ratio), c.drop,
                                            c.mlp_scale));
}

std::pair<Tensor, Tensor> RefinerBlock::forward(const Tensor& x, const Tensor& prev,
                                                nn::AttentionInternals* internals) const {
    // LayerNorm(r x) with eps is exactly LayerNorm(x) with eps / r^2: the scaling costs no pass.
    const double r = cfg.adjust_ratio, eps = cfg.norm_eps / (r * r);
    auto [a, next] = attn->forward(layer_norm(x, norm1->weight, norm1->bias, eps), prev, internals);
    Tensor h = x + drop_path->forward(a) * (1.0 / r);
    h = h + drop_path->forward(mlp->forward(layer_norm(h, norm2->weight, norm2->bias, eps))) *
                (1.0 / r);
    return {h, next};
}

ConvStem::ConvStem(int64_t img, int64_t p, int64_t c, int64_t d, const std::vector<int64_t>& w)
    : img_size(img), patch_size(p), in_chans(c) {
    if (w.size() != 3 || w[0] <= 0 || w[1] <= 0 || w[2] <= 0)
        fail("ConvStem", "needs three positive conv widths, got {}", w.size());
    if (p < 2 || p % 2 != 0 || img <= 0 || img % p != 0)
        fail("ConvStem",
             "the patch size {} must be even (the first conv has stride 2) and divide the image "
             "size {}",
             p, img);
    num_patches = (img / p) * (img / p);
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(c, w[0], 7, 2, 3, 1, false));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(w[0]));
    conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(w[0], w[1], 3, 1, 1, 1, false));
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(w[1]));
    conv3 = register_module("conv3", std::make_shared<nn::Conv2d>(w[1], w[2], 3, 1, 1, 1, false));
    bn3 = register_module("bn3", std::make_shared<nn::BatchNorm2d>(w[2]));
    proj = register_module("proj", std::make_shared<nn::Conv2d>(w[2], d, p / 2, p / 2));
}

Tensor ConvStem::forward(const Tensor& x) const {
    if (x.dim() != 4 || x.size(1) != in_chans || x.size(2) != img_size || x.size(3) != img_size)
        fail("ConvStem", "expected input [B, {}, {}, {}], got {}", in_chans, img_size, img_size,
             x.desc());
    Tensor h = relu(bn1->forward(conv1->forward(x)));
    h = relu(bn2->forward(conv2->forward(h)));
    h = relu(bn3->forward(conv3->forward(h)));
    return proj->forward(h);
}

}  // namespace vg::models
