// The per-layer, per-head measurements of ConViT's internals study (d'Ascoli et al. 2021, §4 and
// App. D-F) on a batch of images: non-locality (Eq. 8) of every layer, and for GPSA layers the
// gate sigmoid(lambda) and the attention centre read from W_pos. Works for every architecture
// with a map provider (train/probe/map_provider.h).
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nn/internals.h"
#include "train/probe/map_provider.h"

namespace vg::probe {

struct LayerStudy {
    std::string kind;                 // "GPSA", "MHSA", ...
    std::vector<double> nonlocality;  // per head, in patches
    // Refiner layers: the |A|-weighted non-locality of the refined maps (nn::weighted_nonlocality),
    // per head; empty for a layer without a refiner.
    std::vector<double> refined_nonlocality;
    std::vector<double> gate;                  // per head, sigmoid(lambda); empty if not gated
    std::vector<nn::AttentionCentre> centres;  // per head (GPSA); empty otherwise
    // The side of this layer's grid where it differs from the study's (FCViT's later stages);
    // 0 otherwise.
    int64_t grid_side = 0;

    // Mean over heads (the paper's D_loc of the layer).
    double mean_nonlocality() const;
};

struct Study {
    MapInput input = MapInput::Activations;
    int64_t images = 0;
    int64_t grid_side = 0;  // the patch grid is grid_side x grid_side
    double seconds = 0;     // wall time of the measurement (set by the caller that times it)
    std::vector<LayerStudy> layers;
};

// Measures every layer on `images` [B, C, H, W] (moved to the model's device), `chunk` images at
// a time so that memory stays bounded; the non-locality is the mean over all B images (ConViT
// Eq. 8 where the provider's maps are distributions, else nn::weighted_nonlocality). The model
// runs in eval mode without gradients and gets its previous mode back.
Study study(models::VisionModel& model, const Tensor& images,
            MapInput input = MapInput::Activations, int64_t chunk = 128);

// Only what needs no images: the gates and attention centres of the gated (GPSA) layers, in
// block order, as {block index, study with an empty nonlocality}.
std::vector<std::pair<int64_t, LayerStudy>> gated_layers(const models::VisionModel& model);

// JSON form of a study, as recorded in metrics.jsonl ("internals"): {"input", "images",
// "layers": [{"kind", "nonlocality", "gate", "centre_distance", "centre": [dx, dy, alpha],
// "refined_nonlocality", "grid_side"}]} (gate and centres for gated layers only,
// refined_nonlocality for refined ones, grid_side where the layer has its own grid). An undefined
// attention centre is written as null.
nlohmann::ordered_json to_json(const Study& s);
Study study_from_json(const nlohmann::ordered_json& j);

}  // namespace vg::probe
