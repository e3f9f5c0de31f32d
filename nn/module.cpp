// Module tree traversal, device/dtype moves and state-dict loading with full error reports.
#include "nn/module.h"

#include <fmt/ranges.h>

#include "autograd/grad_mode.h"
#include "core/safetensors.h"

namespace vg::nn {

void Module::register_parameter(const std::string& name, Tensor* slot) {
    check_defined("Module::register_parameter", *slot, name.c_str());
    for (auto& [n, _] : params_)
        if (n == name) fail("Module::register_parameter", "parameter '{}' registered twice", name);
    slot->requires_grad_(true);
    params_.emplace_back(name, slot);
}

void Module::register_buffer(const std::string& name, Tensor* slot) {
    check_defined("Module::register_buffer", *slot, name.c_str());
    buffers_.emplace_back(name, slot);
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
    if (!m) fail("Module::register_module", "child '{}' is null", name);
    for (auto& [n, _] : children_)
        if (n == name) fail("Module::register_module", "child '{}' registered twice", name);
    children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, bool params,
                     std::vector<std::pair<std::string, Tensor*>>& out) const {
    for (auto& [n, t] : params ? params_ : buffers_) out.emplace_back(prefix + n, t);
    for (auto& [n, c] : children_) c->collect(prefix + n + ".", params, out);
}

NamedTensors Module::named_parameters() const {
    std::vector<std::pair<std::string, Tensor*>> slots;
    collect("", true, slots);
    NamedTensors out;
    for (auto& [n, t] : slots) out.emplace_back(n, *t);
    return out;
}

std::vector<Tensor> Module::parameters() const {
    std::vector<Tensor> out;
    for (auto& [n, t] : named_parameters()) out.push_back(t);
    return out;
}

NamedTensors Module::named_buffers() const {
    std::vector<std::pair<std::string, Tensor*>> slots;
    collect("", false, slots);
    NamedTensors out;
    for (auto& [n, t] : slots) out.emplace_back(n, *t);
    return out;
}

int64_t Module::num_parameters() const {
    int64_t n = 0;
    for (auto& [_, t] : named_parameters()) n += t.numel();
    return n;
}

void Module::zero_grad() {
    for (auto& [_, t] : named_parameters()) {
        Tensor g = t.grad();
        if (g.defined()) g.zero_();
    }
}

void Module::train(bool on) {
    training_ = on;
    on_train(on);
    for (auto& [_, c] : children_) c->train(on);
}

void Module::convert(const std::function<bool(const Tensor&)>& needs,
                     const std::function<Tensor(const Tensor&)>& change) {
    std::vector<std::pair<std::string, Tensor*>> slots;
    collect("", true, slots);
    for (auto& [_, t] : slots) {
        if (!needs(*t)) continue;
        *t = change(t->detach());
        t->requires_grad_(true);
    }
    slots.clear();
    collect("", false, slots);
    for (auto& [_, t] : slots)
        if (needs(*t)) *t = change(*t);
}

void Module::to(Device device) {
    convert([&](const Tensor& t) { return t.device() != device; },
            [&](const Tensor& t) { return t.to(device); });
}

void Module::to(DType dtype) {
    convert([&](const Tensor& t) { return is_floating(t.dtype()) && t.dtype() != dtype; },
            [&](const Tensor& t) { return t.to(dtype); });
}

StateDict Module::state_dict() const {
    StateDict sd;
    for (auto& [n, t] : named_parameters()) sd[n] = t.detach();
    for (auto& [n, t] : named_buffers()) sd[n] = t.detach();
    return sd;
}

void Module::load_state_dict(const StateDict& sd, bool strict) {
    std::vector<std::pair<std::string, Tensor*>> slots;
    collect("", true, slots);
    collect("", false, slots);
    std::vector<std::string> missing, unexpected, mismatched;
    std::map<std::string, Tensor*> by_name;
    for (auto& [n, t] : slots) {
        by_name[n] = t;
        auto it = sd.find(n);
        if (it == sd.end()) {
            missing.push_back(n);
            continue;
        }
        const Tensor& src = it->second;
        if (!src.defined()) {
            mismatched.push_back(fmt::format("{} (undefined tensor)", n));
        } else if (src.shape() != t->shape() || src.dtype() != t->dtype()) {
            mismatched.push_back(fmt::format("{} (expected {} {}, got {} {})", n, t->dtype(),
                                             t->shape(), src.dtype(), src.shape()));
        }
    }
    for (auto& [n, _] : sd)
        if (!by_name.count(n)) unexpected.push_back(n);
    bool bad = !mismatched.empty() || (strict && (!missing.empty() || !unexpected.empty()));
    if (bad) {
        std::string msg;
        if (!missing.empty())
            msg += fmt::format("\n  missing ({}): {}", missing.size(), fmt::join(missing, ", "));
        if (!unexpected.empty())
            msg += fmt::format("\n  unexpected ({}): {}", unexpected.size(),
                               fmt::join(unexpected, ", "));
        if (!mismatched.empty())
            msg += fmt::format("\n  mismatched ({}): {}", mismatched.size(),
                               fmt::join(mismatched, ", "));
        fail("load_state_dict", "state dict does not match the module:{}", msg);
    }
    NoGradGuard ng;
    for (auto& [n, t] : slots) {
        auto it = sd.find(n);
        if (it != sd.end()) t->copy_(it->second);
    }
}

void Module::save(const std::string& path) const { save_safetensors(path, state_dict()); }

void Module::load(const std::string& path, bool strict) {
    SafetensorsFile f = load_safetensors(path);
    try {
        load_state_dict(f.tensors, strict);
    } catch (const Error& e) {
        fail("Module::load", "{}: {}", path, e.what());
    }
}

}  // namespace vg::nn
