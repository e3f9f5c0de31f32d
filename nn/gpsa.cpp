// GPSA forward, positional branch and local initialisation.
#include "nn/gpsa.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/init.h"

namespace vg::nn {

GPSA::GPSA(int64_t d, int64_t h, bool qkv_bias, double attn_p, double proj_p, double alpha,
           bool use_local_init)
    : AttentionLayer(d, h, "GPSA"), locality_strength(alpha) {
    qk = register_module("qk", std::make_shared<Linear>(d, 2 * d, qkv_bias));
    v = register_module("v", std::make_shared<Linear>(d, d, qkv_bias));
    attn_drop = register_module("attn_drop", std::make_shared<Dropout>(attn_p));
    proj = register_module("proj", std::make_shared<Linear>(d, d));
    pos_proj = register_module("pos_proj", std::make_shared<Linear>(3, h));
    proj_drop = register_module("proj_drop", std::make_shared<Dropout>(proj_p));
    gating_param = Tensor::ones({h});
    register_parameter("gating_param", &gating_param);
    if (use_local_init) local_init();
}

void GPSA::local_init() {
    NoGradGuard ng;
    Tensor eye = Tensor::zeros({dim, dim}, DType::F64);
    for (int64_t i = 0; i < dim; ++i) eye.set({i, i}, 1.0);
    v->weight.detach().copy_(eye);

    Tensor& w = pos_proj->weight;  // [H, 3]; rows past k^2 keep their trunc-normal values
    std::vector<double> vals = w.detach().cpu().to(DType::F64).contiguous().to_vector();
    const int64_t k = math::isqrt(num_heads);
    const double c = k % 2 == 0 ? (k - 1) / 2.0 : double(k / 2);
    const double locality_distance = 1.0;
    for (int64_t h1 = 0; h1 < k; ++h1)
        for (int64_t h2 = 0; h2 < k; ++h2) {
            int64_t row = h1 + k * h2;
            vals[size_t(row * 3 + 2)] = -1.0;
            vals[size_t(row * 3 + 1)] = 2.0 * (double(h1) - c) * locality_distance;
            vals[size_t(row * 3 + 0)] = 2.0 * (double(h2) - c) * locality_distance;
        }
    for (double& x : vals) x *= locality_strength;
    w.detach().copy_(Tensor::from_vector(vals, w.shape(), DType::F64));
}

const Tensor& GPSA::cached_rel_indices(int64_t n) const {
    const Tensor& w = pos_proj->weight;
    if (!rel_.defined() || rel_.size(0) != n || rel_.dtype() != w.dtype() ||
        rel_.device() != w.device())
        rel_ = rel_indices(n, w.dtype(), w.device());
    return rel_;
}

Tensor GPSA::positional_attention(int64_t n) const {
    // [N, N, 3] @ [3, H]^T -> [N, N, H] -> [H, N, N]: one tiny GEMM for the whole batch.
    Tensor z = pos_proj->forward(cached_rel_indices(n)).permute({2, 0, 1});
    return softmax(z, -1).unsqueeze(0);
}

Tensor GPSA::forward(const Tensor& x, AttentionInternals* internals) const {
    if (x.dim() != 3 || x.size(2) != dim)
        fail("GPSA", "expected input [B, N, {}], got {}", dim, x.desc());
    const int64_t n = x.size(1);
    grid_side(n, "GPSA");
    if (!attn_drop->active()) {                // the maps feed nothing else: fuse
        Tensor pos = positional_attention(n);  // [1, H, N, N]
        Tensor gate = sigmoid(gating_param);
        AttentionMaps maps;
        Tensor o =
            multi_head_attention(qk->forward(x), v->forward(x), num_heads, scale, pos.squeeze(0),
                                 gate, normalize, internals ? &maps : nullptr);
        if (internals) {
            internals->attn = maps.attn;
            internals->content = maps.content;
            internals->positional = pos.detach();
            internals->gate = gate.detach();
        }
        return proj_drop->forward(proj->forward(o));
    }
    auto qk_h = split_heads(qk->forward(x), 2, num_heads);  // q, k: [B, H, N, d]
    Tensor content =
        softmax(matmul(qk_h[0], qk_h[1].transpose(-2, -1), scale), -1);  // [B, H, N, N]
    Tensor pos = positional_attention(n);                                // [1, H, N, N]
    Tensor a = gated_mix(content, pos.squeeze(0), sigmoid(gating_param), normalize);
    if (internals) {
        internals->attn = a.detach();
        internals->content = content.detach();
        internals->positional = pos.detach();
        internals->gate = sigmoid(gating_param.detach());
    }
    auto v_h = split_heads(v->forward(x), 1, num_heads);  // [B, H, N, d]
    Tensor o = matmul(attn_drop->forward(a), v_h[0]);
    return proj_drop->forward(proj->forward(merge_heads(o)));
}

}  // namespace vg::nn
