// VisionModel: what DeiT and ConViT share.
#include "models/model.h"

namespace vg::models {

double VisionModel::drop_path_at(int64_t i) const {
    return cfg_.depth > 1 ? cfg_.drop_path_rate * double(i) / double(cfg_.depth - 1) : 0.0;
}

nn::BlockConfig VisionModel::block_config(int64_t i, bool use_gpsa) const {
    return nn::BlockConfig{.dim = cfg_.embed_dim,
                           .num_heads = cfg_.num_heads,
                           .mlp_ratio = cfg_.mlp_ratio,
                           .qkv_bias = cfg_.qkv_bias,
                           .drop = cfg_.drop_rate,
                           .attn_drop = cfg_.attn_drop_rate,
                           .drop_path = drop_path_at(i),
                           .use_gpsa = use_gpsa,
                           .locality_strength = cfg_.locality_strength,
                           .use_local_init = cfg_.use_local_init,
                           .norm_eps = cfg_.ln_eps,
                           .refiner_expand = cfg_.refiner_expand,
                           .refiner_kernel = cfg_.refiner_kernel};
}

}  // namespace vg::models
