// The map provider of SimpleViT (models/simplevit.h): patch tokens only, no class token, so each
// layer's maps are its softmax maps as they are.
#include "autograd/grad_mode.h"
#include "models/simplevit.h"
#include "train/probe/map_provider.h"

namespace vg::probe {

namespace {

class SimpleVitMaps : public MapProvider {
  public:
    const char* name() const override { return "simplevit"; }
    bool handles(const models::VisionModel& m) const override {
        return dynamic_cast<const models::SimpleViT*>(&m) != nullptr;
    }
    // No gated layer: maps averaged over images as DeiT's (ConViT Fig. 15).
    int64_t figure_images(const models::VisionModel&) const override { return 100; }

    std::vector<LayerMaps> layer_maps(const models::VisionModel& m, const Tensor& images,
                                      MapInput input) const override {
        if (input != MapInput::Activations)
            fail("layer_maps",
                 "'{}': only the activations input applies to SimpleViT (the patch_embed input "
                 "reproduces ConViT's reference logging)",
                 m.config().name);
        NoGradGuard no_grad;
        models::ModelInternals in;
        m.forward(images, &in);
        std::vector<LayerMaps> out(in.blocks.size());
        for (size_t i = 0; i < in.blocks.size(); ++i) {
            set_patch_maps(out[i], in.blocks[i], m.config().num_patches(), i);
            out[i].kind = "MHSA";
        }
        return out;
    }
};

}  // namespace

std::shared_ptr<const MapProvider> simplevit_map_provider() {
    return std::make_shared<SimpleVitMaps>();
}

}  // namespace vg::probe
