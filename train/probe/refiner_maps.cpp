// The map provider of Refiner-ViT as released (Zhou et al. 2021, zhoudaquan/Refiner_ViT
// models/refined_transformer.py): computing blocks hand back their attention maps (softmax plus,
// after the first, the scaled map of the previous computing block), sharing blocks the map they
// received and its refinement, the maps that multiply their values.
#include "autograd/grad_mode.h"
#include "models/refiner.h"
#include "train/probe/map_provider.h"

namespace vg::probe {

namespace {

class RefinerVitMaps : public MapProvider {
  public:
    const char* name() const override { return "refiner_vit"; }
    bool handles(const models::VisionModel& m) const override {
        return dynamic_cast<const models::RefinerViT*>(&m) != nullptr;
    }
    // No gated layer to single out one image's maps: averaged as DeiT's (ConViT Fig. 15).
    int64_t figure_images(const models::VisionModel&) const override { return 100; }

    std::vector<LayerMaps> layer_maps(const models::VisionModel& m, const Tensor& images,
                                      MapInput input) const override {
        if (input != MapInput::Activations)
            fail("layer_maps",
                 "'{}': only the activations input applies to Refiner-ViT (its sharing blocks "
                 "refine the map of the block before them, so no block's map can be computed "
                 "from the patch embeddings alone)",
                 m.config().name);
        const auto& r = dynamic_cast<const models::RefinerViT&>(m);
        NoGradGuard no_grad;
        models::ModelInternals in;
        r.forward(images, &in);
        const int64_t N = m.config().num_patches();
        std::vector<LayerMaps> out(in.blocks.size());
        // Only the first computing block's map is a plain softmax; a sharing block's `maps` is
        // the one it received from the computing block before it.
        bool seen_computing = false, passed_on_is_distribution = false;
        for (size_t i = 0; i < in.blocks.size(); ++i) {
            LayerMaps& l = out[i];
            set_patch_maps(l, in.blocks[i], N, i);
            const bool sharing = r.refiner_blocks[i]->attn->sharing;
            l.kind = sharing ? "shared" : "MHSA";
            if (sharing) {
                l.distributions = passed_on_is_distribution;
            } else {
                l.distributions = passed_on_is_distribution = !seen_computing;
                seen_computing = true;
            }
        }
        return out;
    }
};

}  // namespace

std::shared_ptr<const MapProvider> refiner_vit_map_provider() {
    return std::make_shared<RefinerVitMaps>();
}

}  // namespace vg::probe
