// The map provider of FCViT (models/fcvit.h). FCViT has no attention: each global context weights
// one pooled context vector per group by the standardised similarity s-hat of every position, the
// same weights for every query (Ma et al. 2022 build it from the observation that deep ViT maps
// barely depend on the query). Each context is one layer of the study, its G groups the heads, and
// its maps are s-hat repeated for every query over the grid of its stage. s-hat is signed and not
// a distribution: the figure draws |s-hat|, and the non-locality is the |s-hat|-weighted mean
// distance from every position to the positions that take the context (nn::context_nonlocality),
// which is the uniform value (4.1365 on 8 x 8) where |s-hat| is flat.
#include "models/fcvit.h"
#include "train/probe/map_provider.h"

namespace vg::probe {

namespace {

class FCViTMaps : public ForwardMapProviderOf<models::FCViT> {
  public:
    const char* name() const override { return "FCViT"; }

  protected:
    const char* why_activations_only() const override {
        return "it has no patch tokens that an attention layer reads";
    }
    std::vector<LayerMaps> layers(const models::VisionModel&,
                                  const models::ModelInternals& in) const override {
        std::vector<LayerMaps> out(in.contexts.size());
        for (size_t i = 0; i < in.contexts.size(); ++i) {
            const Tensor& s = in.contexts[i].similarity;  // [B, G, H, W]
            const int64_t B = s.size(0), G = s.size(1), N = s.size(2) * s.size(3);
            out[i].maps = s.reshape({B, G, 1, N}).expand({B, G, N, N});
        }
        return out;
    }
    void describe(const models::VisionModel&, std::vector<LayerMaps>& layers) const override {
        for (LayerMaps& l : layers) {
            l.kind = "GC";
            l.distributions = false;
            l.query_independent = true;
        }
    }
};

}  // namespace

std::shared_ptr<const MapProvider> fcvit_map_provider() { return std::make_shared<FCViTMaps>(); }

}  // namespace vg::probe
