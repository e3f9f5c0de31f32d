// Transformer block.
#include "nn/block.h"

#include "autograd/ops.h"
#include "nn/gpsa.h"

namespace vg::nn {

Block::Block(const BlockConfig& c) : cfg(c) {
    norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.dim, c.norm_eps));
    if (c.use_gpsa)
        attn = register_module<AttentionLayer>(
            "attn", std::make_shared<GPSA>(c.dim, c.num_heads, c.qkv_bias, c.attn_drop, c.drop,
                                           c.locality_strength, c.use_local_init));
    else {
        auto mhsa =
            std::make_shared<Attention>(c.dim, c.num_heads, c.qkv_bias, c.attn_drop, c.drop);
        if (c.refiner_expand > 0) mhsa->add_refiner(c.refiner_expand, c.refiner_kernel);
        attn = register_module<AttentionLayer>("attn", mhsa);
    }
    drop_path = register_module("drop_path", std::make_shared<DropPath>(c.drop_path));
    norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.dim, c.norm_eps));
    int64_t hidden = int64_t(double(c.dim) * c.mlp_ratio);
    mlp = register_module("mlp", std::make_shared<Mlp>(c.dim, hidden, c.drop));
}

Tensor Block::forward(const Tensor& x, AttentionInternals* internals) const {
    Tensor h = x + drop_path->forward(attn->forward(norm1->forward(x), internals));
    return h + drop_path->forward(mlp->forward(norm2->forward(h)));
}

}  // namespace vg::nn
