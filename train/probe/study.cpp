// Per-layer measurements on a batch, and their JSON form.
#include "train/probe/study.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/gpsa.h"

namespace vg::probe {

using Json = nlohmann::ordered_json;

double LayerStudy::mean_nonlocality() const {
    double s = 0;
    for (double v : nonlocality) s += v;
    return nonlocality.empty() ? 0.0 : s / double(nonlocality.size());
}

namespace {

std::vector<double> gate_values(const Tensor& gate) {
    return gate.defined() ? gate.detach().cpu().to(DType::F64).contiguous().to_vector()
                          : std::vector<double>{};
}

}  // namespace

Study study(models::VisionModel& model, const Tensor& images, MapInput input, int64_t chunk) {
    if (images.dim() != 4) fail("study", "expected images [B, C, H, W], got {}", images.desc());
    if (images.size(0) == 0) fail("study", "no images to measure");
    if (chunk <= 0) fail("study", "chunk must be positive, got {}", chunk);
    const MapProvider& provider = map_provider(model);
    EvalScope eval(model);
    NoGradGuard no_grad;
    const Device device = model_device(model);
    const int64_t B = images.size(0);
    Study s;
    s.input = input;
    s.images = B;
    s.grid_side = nn::grid_side(model.config().num_patches(), "study");
    for (int64_t start = 0; start < B; start += chunk) {
        const int64_t b = std::min(chunk, B - start);
        std::vector<LayerMaps> maps =
            provider.layer_maps(model, images.narrow(0, start, b).to(device), input);
        if (s.layers.empty()) {
            s.layers.resize(maps.size());
            for (size_t l = 0; l < maps.size(); ++l) {
                s.layers[l].kind = maps[l].kind;
                s.layers[l].gate = gate_values(maps[l].gate);
                if (maps[l].pos_weight.defined())
                    s.layers[l].centres = nn::attention_centres(maps[l].pos_weight);
                s.layers[l].nonlocality.assign(size_t(maps[l].maps.size(1)), 0.0);
                const int64_t side = nn::grid_side(maps[l].maps.size(-1), "study");
                if (side != s.grid_side) s.layers[l].grid_side = side;
                if (maps[l].refined.defined())
                    s.layers[l].refined_nonlocality.assign(size_t(maps[l].refined.size(1)), 0.0);
            }
        }
        auto add_weighted = [&](std::vector<double>& acc, const std::vector<double>& d) {
            for (size_t h = 0; h < d.size() && h < acc.size(); ++h)
                acc[h] += d[h] * double(b) / double(B);
        };
        for (size_t l = 0; l < maps.size(); ++l) {
            const LayerMaps& m = maps[l];
            add_weighted(s.layers[l].nonlocality,
                         m.query_independent ? nn::context_nonlocality(m.maps.select(2, 0))
                         : m.distributions   ? nn::nonlocality(m.maps)
                                             : nn::weighted_nonlocality(m.maps));
            if (m.refined.defined())
                add_weighted(s.layers[l].refined_nonlocality, nn::weighted_nonlocality(m.refined));
        }
    }
    return s;
}

std::vector<std::pair<int64_t, LayerStudy>> gated_layers(const models::VisionModel& model) {
    std::vector<std::pair<int64_t, LayerStudy>> out;
    for (size_t i = 0; i < model.blocks.size(); ++i) {
        auto* g = dynamic_cast<const nn::GPSA*>(model.blocks[i]->attn.get());
        if (!g) continue;
        LayerStudy l;
        l.kind = "GPSA";
        NoGradGuard no_grad;
        l.gate = gate_values(sigmoid(g->gating_param.detach()));
        l.centres = nn::attention_centres(g->pos_proj->weight);
        out.emplace_back(int64_t(i), std::move(l));
    }
    return out;
}

Json to_json(const Study& s) {
    Json layers = Json::array();
    for (const LayerStudy& l : s.layers) {
        Json j = {{"kind", l.kind}, {"nonlocality", l.nonlocality}};
        if (!l.gate.empty()) j["gate"] = l.gate;
        if (!l.refined_nonlocality.empty()) j["refined_nonlocality"] = l.refined_nonlocality;
        if (l.grid_side > 0) j["grid_side"] = l.grid_side;
        if (!l.centres.empty()) {
            Json dist = Json::array(), centre = Json::array();
            for (const nn::AttentionCentre& c : l.centres) {
                dist.push_back(c.defined ? Json(c.distance) : Json(nullptr));
                centre.push_back(c.defined ? Json::array({c.dx, c.dy, c.alpha}) : Json(nullptr));
            }
            j["centre_distance"] = dist;
            j["centre"] = centre;
        }
        layers.push_back(j);
    }
    return {{"input", map_input_name(s.input)},
            {"images", s.images},
            {"grid_side", s.grid_side},
            {"seconds", s.seconds},
            {"layers", layers}};
}

Study study_from_json(const Json& j) {
    Study s;
    try {
        s.input = parse_map_input(j.at("input").get<std::string>());
        s.images = j.at("images").get<int64_t>();
        s.grid_side = j.at("grid_side").get<int64_t>();
        s.seconds = j.value("seconds", 0.0);
        for (const Json& jl : j.at("layers")) {
            LayerStudy l;
            l.kind = jl.at("kind").get<std::string>();
            l.nonlocality = jl.at("nonlocality").get<std::vector<double>>();
            if (jl.contains("gate")) l.gate = jl.at("gate").get<std::vector<double>>();
            l.grid_side = jl.value("grid_side", int64_t(0));
            if (jl.contains("refined_nonlocality"))
                l.refined_nonlocality = jl.at("refined_nonlocality").get<std::vector<double>>();
            if (jl.contains("centre"))
                for (const Json& c : jl.at("centre")) {
                    nn::AttentionCentre ac;
                    if (!c.is_null()) {
                        ac.dx = c.at(0).get<double>();
                        ac.dy = c.at(1).get<double>();
                        ac.alpha = c.at(2).get<double>();
                        ac.distance = std::hypot(ac.dx, ac.dy);
                        ac.defined = true;
                    }
                    l.centres.push_back(ac);
                }
            s.layers.push_back(std::move(l));
        }
    } catch (const nlohmann::json::exception& e) {
        fail("study_from_json", "malformed internals record ({})", e.what());
    }
    return s;
}

}  // namespace vg::probe
