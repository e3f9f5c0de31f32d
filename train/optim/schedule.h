// Learning-rate schedule: linear warm-up then cosine decay, stepped per epoch (timm's
// t_in_epochs, with its off-by-one quirk) or per optimiser step.
#pragma once
#include <cstdint>

namespace vg {

struct ScheduleOptions {
    double lr = 5e-4;          // peak lr (after warm-up)
    double warmup_lr = 1e-6;   // lr at t = 0
    double min_lr = 1e-5;      // floor of the cosine
    double warmup_epochs = 5;  // linear from warmup_lr towards lr
    double epochs = 300;       // t_initial of the cosine
    bool per_step = false;     // false: one value per epoch (timm t_in_epochs)
    // timm calls step(e) after epoch e, so epochs 0 and 1 both use sched(0) and epoch e >= 1 uses
    // sched(e - 1). Only meaningful when !per_step.
    bool timm_epoch_offset = true;
};

class CosineSchedule {
  public:
    explicit CosineSchedule(ScheduleOptions o) : o_(o) {}

    // timm's CosineLRScheduler._get_lr at time t (epochs, or steps when the lengths are steps):
    // t < warmup: warmup_lr + t * (lr - warmup_lr) / warmup; else the cosine at absolute t
    // (no warm-up prefix): min_lr + (lr - min_lr) * (1 + cos(pi * t / t_initial)) / 2.
    static double value(double t, double lr, double warmup_lr, double min_lr, double warmup,
                        double t_initial);

    // The lr for step `step_in_epoch` of epoch `epoch` (both 0-based).
    double lr_at(int64_t epoch, int64_t step_in_epoch, int64_t steps_per_epoch) const;
    const ScheduleOptions& options() const { return o_; }

  private:
    ScheduleOptions o_;
};

}  // namespace vg
