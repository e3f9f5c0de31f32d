// Warm-up + cosine learning-rate values, following timm 0.3's CosineLRScheduler.
#include "train/optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace vg {

double CosineSchedule::value(double t, double lr, double warmup_lr, double min_lr, double warmup,
                             double t_initial) {
    if (t < warmup) return warmup_lr + t * (lr - warmup_lr) / warmup;
    if (t_initial <= 0 || t >= t_initial) return min_lr;
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + std::cos(std::numbers::pi * t / t_initial));
}

double CosineSchedule::lr_at(int64_t epoch, int64_t step_in_epoch, int64_t steps_per_epoch) const {
    if (o_.per_step) {
        // Lengths converted to optimiser steps, as timm does with t_in_epochs=False.
        double spe = double(std::max<int64_t>(steps_per_epoch, 1));
        double t = double(epoch) * spe + double(step_in_epoch);
        return value(t, o_.lr, o_.warmup_lr, o_.min_lr, o_.warmup_epochs * spe, o_.epochs * spe);
    }
    int64_t t = o_.timm_epoch_offset ? std::max<int64_t>(epoch - 1, 0) : epoch;
    return value(double(t), o_.lr, o_.warmup_lr, o_.min_lr, o_.warmup_epochs, o_.epochs);
}

}  // namespace vg
