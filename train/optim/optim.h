// Optimisers over named parameters: AdamW (decoupled weight decay, fused kernel) and SGD with
// momentum/nesterov, with the decay/no-decay split and state save/load for checkpoints.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace vg {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Whether weight decay applies to the parameter `name` (timm/DeiT rule): never on 1-D tensors,
// `.bias`, `pos_embed`, `cls_token` or `dist_token`. Decided by shape first, so 2-D tensors such
// as GPSA's `pos_proj.weight` keep their decay as the reference does.
bool wants_weight_decay(const std::string& name, const Tensor& p);

// An optimiser's persistent state: tensors by key plus scalars (the step count).
struct OptimizerState {
    std::string kind;  // "adamw" or "sgd"
    int64_t step = 0;
    std::map<std::string, Tensor> tensors;  // e.g. "exp_avg.blocks.0.attn.qkv.weight"
};

class Optimizer {
  public:
    // `params` must be leaves that require grad; names are used for decay and state keys.
    Optimizer(NamedTensors params, double lr, double weight_decay);
    virtual ~Optimizer() = default;

    // One update from the current .grad() of every parameter (parameters without one are skipped).
    virtual void step() = 0;
    void zero_grad();  // drops the gradients (set to none)

    double lr() const { return lr_; }
    void set_lr(double lr) { lr_ = lr; }
    int64_t step_count() const { return step_; }
    const NamedTensors& params() const { return params_; }
    double weight_decay_for(size_t i) const { return decay_[i] ? weight_decay_ : 0.0; }

    virtual OptimizerState state() const = 0;
    // Restores a saved state; throws naming the missing or mismatching key.
    virtual void load_state(const OptimizerState& s) = 0;

  protected:
    NamedTensors params_;
    std::vector<bool> decay_;
    double lr_, weight_decay_;
    int64_t step_ = 0;
};

struct AdamWOptions {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.05;
};

// PyTorch AdamW: p *= 1 - lr*wd; m, v moments; bias-corrected update (one fused kernel per tensor).
class AdamW final : public Optimizer {
  public:
    AdamW(NamedTensors params, AdamWOptions o);
    void step() override;
    OptimizerState state() const override;
    void load_state(const OptimizerState& s) override;
    const AdamWOptions& options() const { return o_; }

  private:
    AdamWOptions o_;
    std::vector<Tensor> m_, v_;
};

struct SgdOptions {
    double lr = 0.1, momentum = 0.9, dampening = 0.0, weight_decay = 0.0;
    bool nesterov = false;
};

// PyTorch SGD: g += wd*p (coupled, on the decay set only); buf = mu*buf + (1-damp)*g (buf = g on
// the first step); nesterov uses g + mu*buf; p -= lr * that.
class Sgd final : public Optimizer {
  public:
    Sgd(NamedTensors params, SgdOptions o);
    void step() override;
    OptimizerState state() const override;
    void load_state(const OptimizerState& s) override;

  private:
    SgdOptions o_;
    std::vector<Tensor> buf_;  // undefined until the first step that sees a gradient
};

}  // namespace vg
