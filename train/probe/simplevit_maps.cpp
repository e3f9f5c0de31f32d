// The map provider of SimpleViT (models/simplevit.h): patch tokens only, no class token, so each
// layer's maps are its softmax maps as they are.
#include "models/simplevit.h"
#include "train/probe/map_provider.h"

namespace vg::probe {

namespace {

class SimpleVitMaps : public ForwardMapProviderOf<models::SimpleViT> {
  public:
    const char* name() const override { return "SimpleViT"; }

  protected:
    const char* why_activations_only() const override {
        return "the patch_embed input reproduces ConViT's reference logging";
    }
    void describe(const models::VisionModel&, std::vector<LayerMaps>& layers) const override {
        for (LayerMaps& l : layers) l.kind = "MHSA";
    }
};

}  // namespace

std::shared_ptr<const MapProvider> simplevit_map_provider() {
    return std::make_shared<SimpleVitMaps>();
}

}  // namespace vg::probe
