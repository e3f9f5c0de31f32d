// Test-time masks on a model's parameters.
#include "train/probe/masking.h"

#include <fmt/format.h>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace vg::probe {

std::string MaskSpec::describe() const {
    std::string parts;
    if (zero_pos_embed) parts = "position embedding zeroed";
    if (gate != GateMask::None && first_layers > 0) {
        if (!parts.empty()) parts += ", ";
        parts += fmt::format("{} masked in the first {} GPSA layer{}",
                             gate == GateMask::Content ? "content" : "position", first_layers,
                             first_layers == 1 ? "" : "s");
    }
    return parts.empty() ? "no mask" : parts;
}

std::vector<std::pair<std::string, Tensor>> gating_params(const models::VisionModel& model) {
    std::vector<std::pair<std::string, Tensor>> out;
    const std::string suffix = "gating_param";
    for (auto& [name, p] : model.named_parameters())
        if (name.size() >= suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            out.emplace_back(name, p);
    return out;
}

ScopedMask::ScopedMask(models::VisionModel& model, const MaskSpec& spec) {
    std::vector<std::pair<Tensor, double>> writes;  // (parameter, value to fill)
    if (spec.zero_pos_embed) {
        Tensor pos;
        for (auto& [name, p] : model.named_parameters())
            if (name == "pos_embed") pos = p;
        if (!pos.defined())
            fail("mask", "model '{}' has no position embedding (pos_embed) to zero",
                 model.config().name);
        writes.emplace_back(pos, 0.0);
    }
    if (spec.first_layers < 0)
        fail("mask", "the number of masked layers must be >= 0, got {}", spec.first_layers);
    if (spec.gate != GateMask::None && spec.first_layers > 0) {
        auto gates = gating_params(model);
        if (spec.first_layers > int64_t(gates.size()))
            fail("mask", "model '{}' has {} gated (GPSA) layers, {} asked to be masked",
                 model.config().name, gates.size(), spec.first_layers);
        const double lambda = spec.gate == GateMask::Content ? 1e4 : -1e4;
        for (int64_t i = 0; i < spec.first_layers; ++i)
            writes.emplace_back(gates[size_t(i)].second, lambda);
    }
    NoGradGuard no_grad;
    for (auto& [p, value] : writes) {
        saved_.emplace_back(p, p.detach().clone());
        p.detach().fill_(value);
    }
}

ScopedMask::~ScopedMask() {
    NoGradGuard no_grad;
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) it->first.detach().copy_(it->second);
}

}  // namespace vg::probe
