// Multi-head self-attention.
#include "nn/attention.h"

#include "autograd/ops.h"

namespace vg::nn {

AttentionLayer::AttentionLayer(int64_t d, int64_t h, const char* kind) : dim(d), num_heads(h) {
    if (d <= 0 || h <= 0 || d % h != 0)
        fail(kind, "dim {} must be a positive multiple of num_heads {}", d, h);
    head_dim = d / h;
    scale = 1.0 / std::sqrt(double(head_dim));
}

std::vector<Tensor> split_heads(const Tensor& y, int64_t k, int64_t H) {
    const int64_t B = y.size(0), T = y.size(1), C = y.size(2) / k;
    // unbind before the transpose: its backward then stacks the k gradients straight into
    // y's [B, T, k, H, d] layout, so the Linear's backward needs no further copy.
    std::vector<Tensor> out = unbind(y.reshape({B, T, k, H, C / H}), 2);  // k x [B, T, H, d]
    for (Tensor& t : out) t = t.transpose(1, 2);                          // [B, H, T, d]
    return out;
}

Tensor merge_heads(const Tensor& o) {
    const int64_t B = o.size(0), H = o.size(1), T = o.size(2), d = o.size(3);
    return o.transpose(1, 2).reshape({B, T, H * d});
}

Attention::Attention(int64_t d, int64_t h, bool qkv_bias, double attn_p, double proj_p)
    : AttentionLayer(d, h, "Attention") {
    qkv = register_module("qkv", std::make_shared<Linear>(d, 3 * d, qkv_bias));
    attn_drop = register_module("attn_drop", std::make_shared<Dropout>(attn_p));
    proj = register_module("proj", std::make_shared<Linear>(d, d));
    proj_drop = register_module("proj_drop", std::make_shared<Dropout>(proj_p));
}

Tensor Attention::forward(const Tensor& x, AttentionInternals* internals) const {
    if (x.dim() != 3 || x.size(2) != dim)
        fail("Attention", "expected input [B, T, {}], got {}", dim, x.desc());
    if (!refiner && !attn_drop->active()) {  // the maps feed nothing else: fuse
        AttentionMaps maps;
        Tensor o = multi_head_attention(qkv->forward(x), {}, num_heads, scale, {}, {}, true,
                                        internals ? &maps : nullptr);
        if (internals) {
            *internals = AttentionInternals{};
            internals->attn = maps.attn;
        }
        return proj_drop->forward(proj->forward(o));
    }
    auto qkv_h = split_heads(qkv->forward(x), 3, num_heads);  // q, k, v: [B, H, T, d]
    Tensor a = softmax(matmul(qkv_h[0], qkv_h[1].transpose(-2, -1), scale), -1);  // [B, H, T, T]
    Tensor maps = attn_drop->forward(a);
    if (refiner) maps = refiner->forward(maps);
    if (internals) {
        *internals = AttentionInternals{};
        internals->attn = a.detach();
        if (refiner) internals->refined = maps.detach();
    }
    Tensor o = matmul(maps, qkv_h[2]);
    return proj_drop->forward(proj->forward(merge_heads(o)));
}

void Attention::add_refiner(int64_t expand_ratio, int64_t kernel) {
    if (refiner) fail("Attention::add_refiner", "this attention layer already has a refiner");
    refiner =
        register_module("DLA", std::make_shared<AttentionRefiner>(num_heads, expand_ratio, kernel));
}

}  // namespace vg::nn
