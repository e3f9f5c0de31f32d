// Text overrides of a ModelConfig, as timm's --model-kwargs: "key=value,key=value".
#pragma once
#include <string>

#include "models/model.h"

namespace vg::models {

// Keys: embed_dim, depth, num_heads, patch_size, local_up_to_layer (integers); mlp_ratio,
// spatial_alpha, attn_scale, locality_strength (numbers); qkv_bias, class_token, input_pe,
// use_local_init (true/false); pool (token | avg), pos_embed (learned | sincos), weight_init
// (timm | skip). Unknown keys and malformed values are errors naming the key; the model
// constructors check that the combination makes sense.
void apply_model_kwargs(ModelConfig& cfg, const std::string& kwargs);

}  // namespace vg::models
