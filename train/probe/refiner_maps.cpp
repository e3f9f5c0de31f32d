// The map provider of Refiner-ViT as released (Zhou et al. 2021, zhoudaquan/Refiner_ViT
// models/refined_transformer.py): computing blocks hand back their attention maps (softmax plus,
// after the first, the scaled map of the previous computing block), sharing blocks the map they
// received and its refinement, the maps that multiply their values.
#include "models/refiner.h"
#include "train/probe/map_provider.h"

namespace vg::probe {

namespace {

class RefinerVitMaps : public ForwardMapProviderOf<models::RefinerViT> {
  public:
    const char* name() const override { return "Refiner-ViT"; }

  protected:
    const char* why_activations_only() const override {
        return "its sharing blocks refine the map of the block before them, so no block's map can "
               "be computed from the patch embeddings alone";
    }
    void describe(const models::VisionModel& m, std::vector<LayerMaps>& layers) const override {
        const auto& r = dynamic_cast<const models::RefinerViT&>(m);
        // Only the first computing block's map is a plain softmax; a sharing block's `maps` is
        // the one it received from the computing block before it.
        bool seen_computing = false, passed_on_is_distribution = false;
        for (size_t i = 0; i < layers.size(); ++i) {
            LayerMaps& l = layers[i];
            const bool sharing = r.refiner_blocks[i]->attn->sharing;
            l.kind = sharing ? "shared" : "MHSA";
            if (sharing) {
                l.distributions = passed_on_is_distribution;
            } else {
                l.distributions = passed_on_is_distribution = !seen_computing;
                seen_computing = true;
            }
        }
    }
};

}  // namespace

std::shared_ptr<const MapProvider> refiner_vit_map_provider() {
    return std::make_shared<RefinerVitMaps>();
}

}  // namespace vg::probe
