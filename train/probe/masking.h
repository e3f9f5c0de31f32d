// Test-time masking (ConViT, d'Ascoli et al. 2021, Tables 5 and 6): evaluate a trained model with
// its position embedding zeroed, or with the gates of the first k GPSA layers forced to 1
// (content off: positional attention only) or 0 (position off: content attention only).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"

namespace vg::probe {

enum class GateMask {
    None,
    Content,   // sigma(lambda) = 1: the content term is masked
    Position,  // sigma(lambda) = 0: the positional term is masked
};

struct MaskSpec {
    bool zero_pos_embed = false;
    GateMask gate = GateMask::None;
    int64_t first_layers = 0;  // how many gated layers, from the first, get `gate`

    std::string describe() const;  // "position embedding zeroed", "content masked in 3 GPSA layers"
};

// The gating parameters (lambda) of `model` in block order: parameters named "*.gating_param".
std::vector<std::pair<std::string, Tensor>> gating_params(const models::VisionModel& model);

// Applies a mask to the model's parameters and restores the original values when destroyed.
// A gate is forced by setting lambda to +-1e4, where sigmoid is exactly 1 or 0 in float32.
// Errors (before anything changes): zero_pos_embed on a model without "pos_embed", more gated
// layers asked for than the model has, or a gate mask on a model without gates.
class ScopedMask {
  public:
    ScopedMask(models::VisionModel& model, const MaskSpec& spec);
    ~ScopedMask();
    ScopedMask(const ScopedMask&) = delete;
    ScopedMask& operator=(const ScopedMask&) = delete;

  private:
    std::vector<std::pair<Tensor, Tensor>> saved_;  // (parameter, its original values)
};

}  // namespace vg::probe
