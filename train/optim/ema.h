// Exponential moving average of a model's weights and buffers (timm ModelEmaV2): after every
// optimiser step e <- decay * e + (1 - decay) * p for every state-dict entry.
#pragma once
#include <map>
#include <string>

#include "train/optim/optim.h"

namespace vg {

class Ema {
  public:
    // Starts as a copy of `state` (parameters and buffers by name).
    Ema(const NamedTensors& state, double decay);

    void update(const NamedTensors& state);
    double decay() const { return decay_; }
    const NamedTensors& shadow() const { return shadow_; }
    // Restores saved shadows; throws naming a missing or mismatching key.
    void load(const std::map<std::string, Tensor>& saved);

  private:
    NamedTensors shadow_;
    double decay_;
};

}  // namespace vg
