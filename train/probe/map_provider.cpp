// The provider table and the DeiT / ConViT provider.
#include "train/probe/map_provider.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "models/convit.h"
#include "models/deit.h"
#include "nn/gpsa.h"

namespace vg::probe {

MapInput parse_map_input(const std::string& text) {
    if (text == "activations") return MapInput::Activations;
    if (text == "patch_embed" || text == "patch-embed") return MapInput::PatchEmbed;
    fail("map_input", "unknown map input '{}' (expected activations or patch_embed)", text);
}

const char* map_input_name(MapInput input) {
    return input == MapInput::Activations ? "activations" : "patch_embed";
}

namespace {

// Every layer's maps through VisionModel::forward(x, &internals). The class (and distillation)
// tokens come before the patches in every block of both models, so the patch block of a T x T
// map is its last N rows and columns.
class VitMaps : public MapProvider {
  public:
    const char* name() const override { return "vit"; }
    bool handles(const models::VisionModel& m) const override {
        return dynamic_cast<const models::DeiT*>(&m) || dynamic_cast<const models::ConViT*>(&m);
    }
    int64_t figure_images(const models::VisionModel& m) const override {
        // ConViT Figs. 7 and 17 show one image; DeiT's maps are averaged over 100 (Fig. 15).
        return dynamic_cast<const models::ConViT*>(&m) ? 1 : 100;
    }

    std::vector<LayerMaps> layer_maps(const models::VisionModel& m, const Tensor& images,
                                      MapInput input) const override {
        NoGradGuard no_grad;
        std::vector<nn::AttentionInternals> raw(m.blocks.size());
        if (input == MapInput::Activations) {
            models::ModelInternals in;
            m.forward(images, &in);
            raw = std::move(in.blocks);
        } else {
            Tensor t = patch_tokens(m, images);
            for (size_t i = 0; i < m.blocks.size(); ++i) m.blocks[i]->attn->forward(t, &raw[i]);
        }
        const int64_t N = m.config().num_patches();
        std::vector<LayerMaps> out(raw.size());
        for (size_t i = 0; i < raw.size(); ++i) {
            LayerMaps& l = out[i];
            set_patch_maps(l, raw[i], N, i);
            l.gate = raw[i].gate;
            l.kind = l.gate.defined() ? "GPSA" : "MHSA";
            if (auto* g = dynamic_cast<const nn::GPSA*>(m.blocks[i]->attn.get()))
                l.pos_weight = g->pos_proj->weight.detach();
        }
        return out;
    }

  private:
    static Tensor patch_tokens(const models::VisionModel& m, const Tensor& images) {
        if (auto* c = dynamic_cast<const models::ConViT*>(&m))
            return c->patch_embed->forward(images);
        return dynamic_cast<const models::DeiT&>(m).patch_embed->forward(images);
    }
};

// One entry per architecture family; a new architecture adds its provider here.
const std::vector<std::shared_ptr<const MapProvider>>& providers() {
    static const std::vector<std::shared_ptr<const MapProvider>> list = {
        vit_map_provider(), refiner_vit_map_provider(), simplevit_map_provider(),
        fcvit_map_provider()};
    return list;
}

}  // namespace

std::vector<LayerMaps> ForwardMapProvider::layer_maps(const models::VisionModel& m,
                                                      const Tensor& images, MapInput input) const {
    if (input != MapInput::Activations)
        fail("layer_maps", "'{}': only the activations input applies to {} ({})", m.config().name,
             name(), why_activations_only());
    NoGradGuard no_grad;
    models::ModelInternals in;
    m.forward(images, &in);
    std::vector<LayerMaps> out = layers(m, in);
    describe(m, out);
    return out;
}

std::vector<LayerMaps> ForwardMapProvider::layers(const models::VisionModel& m,
                                                  const models::ModelInternals& in) const {
    std::vector<LayerMaps> out(in.blocks.size());
    for (size_t i = 0; i < in.blocks.size(); ++i)
        set_patch_maps(out[i], in.blocks[i], m.config().num_patches(), i);
    return out;
}

void set_patch_maps(LayerMaps& l, const nn::AttentionInternals& raw, int64_t N, size_t block) {
    const Tensor& a = raw.attn;
    if (!a.defined() || a.dim() != 4 || a.size(-1) < N || a.size(-1) != a.size(-2))
        fail("layer_maps", "block {} returned maps {} for {} patch tokens", block,
             a.defined() ? a.desc() : "none", N);
    const int64_t extra = a.size(-1) - N;
    Tensor rows = a.narrow(2, extra, N);
    l.maps = rows.narrow(3, extra, N);
    if (extra > 0) l.other_mass = sum(rows.narrow(3, 0, extra), {-1});
    if (raw.refined.defined()) {
        if (raw.refined.shape() != a.shape())
            fail("layer_maps", "block {}: refined maps {} differ in shape from its maps {}", block,
                 raw.refined.desc(), a.desc());
        l.refined = raw.refined.narrow(2, extra, N).narrow(3, extra, N);
    }
}

Device model_device(const models::VisionModel& m) {
    std::vector<Tensor> p = m.parameters();
    return p.empty() ? Device::cpu() : p.front().device();
}

std::shared_ptr<const MapProvider> vit_map_provider() { return std::make_shared<VitMaps>(); }

const MapProvider& map_provider(const models::VisionModel& model) {
    for (const auto& p : providers())
        if (p->handles(model)) return *p;
    fail("map_provider", "no map provider handles model '{}'", model.config().name);
}

}  // namespace vg::probe
