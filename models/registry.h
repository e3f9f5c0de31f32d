// Model registry: name -> configuration and factory, plus parameter and FLOP counts computed
// from a configuration alone (no allocation).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"

namespace vg::models {

// Every registered name, in table order.
std::vector<std::string> model_names();
// The configuration of a registered name; an unknown name is a vg::Error listing every known one.
ModelConfig model_config(const std::string& name);
// Builds (and initialises, from the global generator) the model a configuration describes.
std::shared_ptr<VisionModel> create_model(const ModelConfig& cfg);
std::shared_ptr<VisionModel> create_model(const std::string& name);

// Parameter count of the model `cfg` describes, by formula (docs/derivations/convit-init.md),
// without building it.
int64_t count_parameters(const ModelConfig& cfg);
// Forward FLOPs per image: 2 per multiply-add of every matmul (patch embedding, projections,
// attention scores and A v, MLP, head, and GPSA's pos_proj). Softmax, LayerNorm, GELU and
// elementwise work are not counted.
int64_t forward_flops(const ModelConfig& cfg);

}  // namespace vg::models
