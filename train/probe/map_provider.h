// Map providers: for each architecture, the query-to-key maps of every layer over the patch grid.
// The study tools (non-locality, map figures, training-time tracking) read layers only through
// this interface, so a new architecture plugs in with one provider (refined attention maps, a
// convolutional model's similarity maps) and no special case in the tools.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "models/model.h"

namespace vg::probe {

// What every layer's maps are computed from.
enum class MapInput {
    Activations,  // the real forward: each layer's own input (ConViT Eq. 8 as the paper uses it)
    PatchEmbed,   // the reference code's logging (facebookresearch/convit main.py): the raw patch
                  // embeddings, no position embedding and no earlier block, fed to every layer
};
MapInput parse_map_input(const std::string& text);  // "activations" | "patch_embed"
const char* map_input_name(MapInput input);

// One layer's maps for a batch.
struct LayerMaps {
    std::string kind;   // "GPSA", "MHSA" (a provider may name others)
    Tensor maps;        // [B, H, N, N] over the N patch tokens, row = query; other tokens removed
    Tensor other_mass;  // [B, H, N]: the weight each query puts on non-patch tokens (the class
                        // token); undefined when the layer sees patches only
    Tensor gate;        // [H] sigmoid(lambda) of a gated layer (GPSA); undefined otherwise
    Tensor pos_weight;  // [H, 3] W_pos of a GPSA layer; undefined otherwise
};

class MapProvider {
  public:
    virtual ~MapProvider() = default;
    virtual const char* name() const = 0;
    virtual bool handles(const models::VisionModel& model) const = 0;
    // Maps of every layer for `images` [B, C, H, W] (on the model's device), without gradients.
    // The model must be in eval mode.
    virtual std::vector<LayerMaps> layer_maps(const models::VisionModel& model,
                                              const Tensor& images, MapInput input) const = 0;
    // How many images a map figure averages by default.
    virtual int64_t figure_images(const models::VisionModel& model) const = 0;
};

// The device of the model's parameters (the CPU for a model without any).
Device model_device(const models::VisionModel& model);

// The provider of `model`'s architecture; a vg::Error naming the model when none handles it.
const MapProvider& map_provider(const models::VisionModel& model);

// DeiT and ConViT: the maps their attention layers apply to the values (GPSA: the gated mix).
std::shared_ptr<const MapProvider> vit_map_provider();

}  // namespace vg::probe
