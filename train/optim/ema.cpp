// EMA update over named tensors; integer buffers are copied rather than averaged.
#include "train/optim/ema.h"

#include <set>

#include "autograd/grad_mode.h"

namespace vg {

Ema::Ema(const NamedTensors& state, double decay) : decay_(decay) {
    if (!(decay >= 0 && decay <= 1)) fail("Ema", "decay must be in [0, 1], got {}", decay);
    NoGradGuard no_grad;
    for (const auto& [name, t] : state) shadow_.emplace_back(name, t.detach().clone());
}

void Ema::update(const NamedTensors& state) {
    if (state.size() != shadow_.size())
        fail("Ema::update", "expected {} tensors, got {}", shadow_.size(), state.size());
    NoGradGuard no_grad;
    for (size_t i = 0; i < state.size(); ++i) {
        auto& [name, e] = shadow_[i];
        const Tensor& p = state[i].second;
        if (state[i].first != name || p.shape() != e.shape())
            fail("Ema::update", "entry {} is '{}' {} but the average holds '{}' {}", i,
                 state[i].first, p.desc(), name, e.desc());
        if (!is_floating(e.dtype())) {
            e.copy_(p);
            continue;
        }
        e.mul_(decay_);
        e.add_(p.detach(), 1.0 - decay_);
    }
}

void Ema::load(const std::map<std::string, Tensor>& saved) {
    NoGradGuard no_grad;
    std::set<std::string> known;
    for (const auto& [n, e] : shadow_) known.insert(n);
    for (const auto& [name, t] : saved)
        if (!known.count(name))
            fail("Ema::load", "the saved average has a tensor '{}' the model lacks", name);
    for (auto& [name, e] : shadow_) {
        auto it = saved.find(name);
        if (it == saved.end()) fail("Ema::load", "the saved average has no tensor '{}'", name);
        if (it->second.shape() != e.shape())
            fail("Ema::load", "saved '{}' is {} but the model has {}", name, it->second.desc(),
                 e.desc());
        e.copy_(it->second);
    }
}

}  // namespace vg
