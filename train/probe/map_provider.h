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
#include "nn/internals.h"

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
    // Refiner (Zhou et al. 2021): the refined maps that multiply the values, patch block
    // [B, H, N, N]; no softmax follows the refinement, so their rows are not distributions and
    // their entries may be negative. Undefined for a layer without a refiner.
    Tensor refined;
    // Whether each row of `maps` (with other_mass) is a distribution. Refiner-ViT's computing
    // blocks add the previous map to the softmax (the attention residual), so theirs are not,
    // and their non-locality is the |A|-weighted one (nn::weighted_nonlocality).
    bool distributions = true;
    // Whether every row of `maps` is the same (FCViT's global context: one weight per position
    // for every query); the non-locality is then nn::context_nonlocality of one row.
    bool query_independent = false;
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

// A provider for models that support only the activations input and hand back their maps from
// forward(x, &internals): it runs the forward, takes the layers' maps from the internals (by
// default every block's maps with any non-patch tokens first, cut out by set_patch_maps) and
// lets the architecture name the layers. Maps are averaged over 100 images in figures (no gate
// to single one image out; ConViT Fig. 15).
class ForwardMapProvider : public MapProvider {
  public:
    int64_t figure_images(const models::VisionModel&) const override { return 100; }
    std::vector<LayerMaps> layer_maps(const models::VisionModel& model, const Tensor& images,
                                      MapInput input) const override;

  protected:
    // Each layer's maps from one forward's internals.
    virtual std::vector<LayerMaps> layers(const models::VisionModel& model,
                                          const models::ModelInternals& internals) const;
    // Sets each layer's kind (and `distributions`, when not all rows are distributions).
    virtual void describe(const models::VisionModel& model,
                          std::vector<LayerMaps>& layers) const = 0;
    // Why only the activations input applies, for the error message.
    virtual const char* why_activations_only() const = 0;
};

// A ForwardMapProvider for the models of one class (`Model`, a VisionModel).
template <typename Model>
class ForwardMapProviderOf : public ForwardMapProvider {
  public:
    bool handles(const models::VisionModel& m) const override {
        return dynamic_cast<const Model*>(&m) != nullptr;
    }
};

// Puts a model in eval mode for a scope and gives it its previous mode back, also on errors.
class EvalScope {
  public:
    explicit EvalScope(models::VisionModel& m) : model_(m), was_training_(m.is_training()) {
        m.eval();
    }
    ~EvalScope() { model_.train(was_training_); }
    EvalScope(const EvalScope&) = delete;
    EvalScope& operator=(const EvalScope&) = delete;

  private:
    models::VisionModel& model_;
    bool was_training_;
};

// Fills l.maps, l.other_mass and l.refined from one block's internals whose T x T maps hold
// T - N non-patch tokens (class, distillation) before the N patches; `block` names it in errors.
void set_patch_maps(LayerMaps& l, const nn::AttentionInternals& raw, int64_t num_patches,
                    size_t block);

// The device of the model's parameters (the CPU for a model without any).
Device model_device(const models::VisionModel& model);

// The provider of `model`'s architecture; a vg::Error naming the model when none handles it.
const MapProvider& map_provider(const models::VisionModel& model);

// DeiT and ConViT: the maps their attention layers apply to the values (GPSA: the gated mix);
// with the paper's Refiner in the MHSA blocks, the softmax maps and the refined ones.
std::shared_ptr<const MapProvider> vit_map_provider();
// Refiner-ViT as released (train/probe/refiner_maps.cpp).
std::shared_ptr<const MapProvider> refiner_vit_map_provider();
// SimpleViT (train/probe/simplevit_maps.cpp).
std::shared_ptr<const MapProvider> simplevit_map_provider();
// FCViT: each global context's similarity maps, one query-independent map per group, on the grid
// of the context's stage (train/probe/fcvit_maps.cpp).
std::shared_ptr<const MapProvider> fcvit_map_provider();

}  // namespace vg::probe
