// Timing helpers shared by the benchmark files: a steady clock, device synchronisation (so a
// timer never stops before queued CUDA work has run), a guard that turns grad mode back on, and
// the per-op timer.
#pragma once
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/device.h"
#include "train/bench/bench.h"

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

// "[64,9,65,65]"
inline std::string dims(const Shape& s) {
    std::string out = "[";
    for (int i = 0; i < int(s.size()); ++i) {
        if (i) out.push_back(',');
        out.append(fmt::format("{}", s[i]));
    }
    out.push_back(']');
    return out;
}

// `vitgrad bench --filter`: op-level benchmarks whose name does not contain this text are skipped
// (set once by bench_main before any op is timed; empty: time everything).
inline std::string& op_filter() {
    static std::string filter;
    return filter;
}

// Times `f` (one call) and returns a result with the per-call timing; `f` runs enough times per
// repetition that one repetition lasts at least ~20 ms, so small ops are not timer noise. An op
// the filter skips is not run and comes back with no repetitions (t.reps == 0).
template <typename F>
OpResult time_op(std::string name, std::string shape, Device device, int warmup, int reps, F&& f) {
    OpResult r{std::move(name), std::move(shape), {}, 0, 0};
    if (r.name.find(op_filter()) == std::string::npos) return r;
    f();
    sync(device);
    auto t0 = Clock::now();
    f();
    sync(device);
    double once = ms_since(t0);
    int inner = std::clamp(int(20.0 / std::max(once, 1e-3)), 1, 1000);
    for (int i = 0; i < warmup; ++i) f();
    std::vector<double> ms;
    for (int i = 0; i < reps; ++i) {
        sync(device);
        auto t = Clock::now();
        for (int k = 0; k < inner; ++k) f();
        sync(device);
        ms.push_back(ms_since(t) / inner);
    }
    r.t = summarize(ms);
    return r;
}

}  // namespace vg::bench
