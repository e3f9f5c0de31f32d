// AdamW and SGD updates, the no-decay rule, and optimiser state (de)serialisation.
#include "train/optim/optim.h"

#include <set>

#include "autograd/grad_mode.h"
#include "core/dispatch.h"

namespace vg {

namespace {

std::string last_component(const std::string& name) {
    size_t dot = name.rfind('.');
    return dot == std::string::npos ? name : name.substr(dot + 1);
}

// Grad ready for a fused kernel: contiguous and of the parameter's dtype and device.
Tensor grad_for(const Tensor& p, const char* op, const std::string& name) {
    Tensor g = p.grad();
    if (!g.defined()) return g;
    if (g.shape() != p.shape())
        fail(op, "gradient {} of '{}' does not match the parameter {}", g.desc(), name, p.desc());
    return g.to(p.dtype()).contiguous();
}

void check_state_tensor(const OptimizerState& s, const std::string& key, const Tensor& p,
                        const char* op) {
    auto it = s.tensors.find(key);
    if (it == s.tensors.end()) fail(op, "the saved state has no tensor '{}'", key);
    if (it->second.shape() != p.shape())
        fail(op, "saved '{}' is {} but the parameter is {}", key, it->second.desc(), p.desc());
}

// Every saved tensor must be one `kinds` makes for some parameter ("exp_avg." + name, ...): a
// stray one means the state belongs to another model or is damaged.
void check_no_extra(const OptimizerState& s, const NamedTensors& params,
                    std::initializer_list<const char*> kinds, const char* op) {
    std::set<std::string> expected;
    for (const char* k : kinds)
        for (const auto& [name, p] : params) expected.insert(k + name);
    for (const auto& [key, t] : s.tensors)
        if (!expected.count(key))
            fail(op, "the saved state has a tensor '{}' that no parameter uses", key);
}

}  // namespace

bool wants_weight_decay(const std::string& name, const Tensor& p) {
    if (p.dim() <= 1) return false;
    std::string last = last_component(name);
    if (last == "bias") return false;
    return !(last == "pos_embed" || last == "cls_token" || last == "dist_token");
}

Optimizer::Optimizer(NamedTensors params, double lr, double weight_decay)
    : params_(std::move(params)), lr_(lr), weight_decay_(weight_decay) {
    for (auto& [name, p] : params_) {
        check_defined("Optimizer", p, name.c_str());
        if (!p.is_leaf() || !p.requires_grad())
            fail("Optimizer", "parameter '{}' ({}) must be a leaf that requires grad", name,
                 p.desc());
        decay_.push_back(wants_weight_decay(name, p));
    }
}

void Optimizer::zero_grad() {
    for (auto& [name, p] : params_) p.set_grad(Tensor());
}

// --- AdamW -----------------------------------------------------------------------------------

AdamW::AdamW(NamedTensors params, AdamWOptions o)
    : Optimizer(std::move(params), o.lr, o.weight_decay), o_(o) {
    for (auto& [name, p] : params_) {
        if (!p.is_contiguous())
            fail("AdamW", "parameter '{}' must be contiguous, got {}", name, p.desc());
        m_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
        v_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
    }
}

void AdamW::step() {
    NoGradGuard no_grad;
    ++step_;
    for (size_t i = 0; i < params_.size(); ++i) {
        auto& [name, p] = params_[i];
        Tensor g = grad_for(p, "AdamW", name);
        if (!g.defined()) continue;
        AdamWParams ap{lr_, o_.beta1, o_.beta2, o_.eps, weight_decay_for(i), step_};
        Tensor param = p.detach();
        VG_DISPATCH(p.device(), adamw_step, param, g, m_[i], v_[i], ap);
    }
}

OptimizerState AdamW::state() const {
    OptimizerState s{"adamw", step_, {}};
    for (size_t i = 0; i < params_.size(); ++i) {
        s.tensors["exp_avg." + params_[i].first] = m_[i];
        s.tensors["exp_avg_sq." + params_[i].first] = v_[i];
    }
    return s;
}

void AdamW::load_state(const OptimizerState& s) {
    if (s.kind != "adamw")
        fail("AdamW::load_state", "the saved optimiser is '{}', not adamw", s.kind);
    check_no_extra(s, params_, {"exp_avg.", "exp_avg_sq."}, "AdamW::load_state");
    NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) {
        const auto& [name, p] = params_[i];
        for (const char* k : {"exp_avg.", "exp_avg_sq."})
            check_state_tensor(s, k + name, p, "AdamW::load_state");
        m_[i].copy_(s.tensors.at("exp_avg." + name));
        v_[i].copy_(s.tensors.at("exp_avg_sq." + name));
    }
    step_ = s.step;
}

// --- SGD -------------------------------------------------------------------------------------

Sgd::Sgd(NamedTensors params, SgdOptions o)
    : Optimizer(std::move(params), o.lr, o.weight_decay), o_(o), buf_(params_.size()) {
    if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
        fail("Sgd", "nesterov needs momentum > 0 and dampening 0 (got momentum {}, dampening {})",
             o.momentum, o.dampening);
}

void Sgd::step() {
    NoGradGuard no_grad;
    ++step_;
    for (size_t i = 0; i < params_.size(); ++i) {
        auto& [name, p] = params_[i];
        Tensor g = grad_for(p, "Sgd", name);
        if (!g.defined()) continue;
        g = g.clone();  // never modify the stored gradient
        Tensor param = p.detach();
        double wd = weight_decay_for(i);
        if (wd != 0) g.add_(param, wd);
        if (o_.momentum != 0) {
            if (!buf_[i].defined()) {
                buf_[i] = g.clone();
            } else {
                buf_[i].mul_(o_.momentum);
                buf_[i].add_(g, 1.0 - o_.dampening);
            }
            if (o_.nesterov)
                g.add_(buf_[i], o_.momentum);
            else
                g = buf_[i];
        }
        param.add_(g, -lr_);
    }
}

OptimizerState Sgd::state() const {
    OptimizerState s{"sgd", step_, {}};
    for (size_t i = 0; i < params_.size(); ++i)
        if (buf_[i].defined()) s.tensors["momentum_buffer." + params_[i].first] = buf_[i];
    return s;
}

void Sgd::load_state(const OptimizerState& s) {
    if (s.kind != "sgd") fail("Sgd::load_state", "the saved optimiser is '{}', not sgd", s.kind);
    check_no_extra(s, params_, {"momentum_buffer."}, "Sgd::load_state");
    for (size_t i = 0; i < params_.size(); ++i) {
        const auto& [name, p] = params_[i];
        std::string key = "momentum_buffer." + name;
        if (!s.tensors.count(key)) {
            buf_[i] = Tensor();
            continue;
        }
        check_state_tensor(s, key, p, "Sgd::load_state");
        buf_[i] = s.tensors.at(key).to(p.device()).to(p.dtype()).clone();
    }
    step_ = s.step;
}

}  // namespace vg
