// Timing helpers shared by the benchmark files: a steady clock, device synchronisation (so a
// timer never stops before queued CUDA work has run), and a guard that turns grad mode back on.
#pragma once
#include <chrono>

#include "autograd/grad_mode.h"
#include "core/device.h"

#if VG_WITH_CUDA
#include "cuda/runtime.h"
#endif

namespace vg::bench {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

inline void sync(Device device) {
#if VG_WITH_CUDA
    if (device.is_cuda()) cuda::synchronize(device.index);
#else
    (void)device;
#endif
}

// Grad mode on for a scope (the op benchmarks otherwise run under NoGradGuard).
class GradModeGuard {
  public:
    explicit GradModeGuard(bool on) : prev_(GradMode::enabled()) { GradMode::set_enabled(on); }
    ~GradModeGuard() { GradMode::set_enabled(prev_); }
    GradModeGuard(const GradModeGuard&) = delete;
    GradModeGuard& operator=(const GradModeGuard&) = delete;

  private:
    bool prev_;
};

}  // namespace vg::bench
