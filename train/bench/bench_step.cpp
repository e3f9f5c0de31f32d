// Step-level benchmark: one full training step (forward, cross-entropy, backward, AdamW) of a
// model at one batch size, timed whole and split into phases, with the allocator's peak memory.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "autograd/ops.h"
#include "core/allocator.h"
#include "core/random.h"
#include "models/registry.h"
#include "train/bench/bench.h"
#include "train/bench/bench_timing.h"
#include "train/optim/optim.h"

namespace vg::bench {

Timing summarize(std::vector<double> ms) {
    Timing t;
    t.reps = int(ms.size());
    if (ms.empty()) return t;
    std::sort(ms.begin(), ms.end());
    // Linear interpolation between order statistics (NumPy's default percentile).
    auto pct = [&](double p) {
        double pos = p * double(ms.size() - 1);
        size_t lo = size_t(pos), hi = std::min(lo + 1, ms.size() - 1);
        return ms[lo] + (pos - double(lo)) * (ms[hi] - ms[lo]);
    };
    t.min = ms.front();
    t.max = ms.back();
    t.median = pct(0.5);
    t.q1 = pct(0.25);
    t.q3 = pct(0.75);
    return t;
}

models::ModelConfig bench_config(const std::string& name) {
    if (name == "convit_ti4") return models::model_config("convit_cifar_tiny");
    if (name == "deit_ti4") return models::model_config("deit_cifar_tiny");
    return models::model_config(name);
}

StepResult bench_step(const std::string& model_name, int64_t batch, Device device, DType dtype,
                      int warmup, int reps, bool phases) {
    models::ModelConfig cfg = bench_config(model_name);
    cfg.drop_rate = cfg.attn_drop_rate = cfg.drop_path_rate = 0.0;
    manual_seed(0);
    auto model = models::create_model(cfg);
    model->to(dtype);
    model->to(device);
    model->train();
    AdamW opt(model->named_parameters(), AdamWOptions{});

    Tensor x = Tensor::randn({batch, cfg.in_chans, cfg.img_size, cfg.img_size}, dtype, device);
    std::vector<int64_t> lab(static_cast<size_t>(batch));
    for (int64_t i = 0; i < batch; ++i) lab[size_t(i)] = (i * 7 + 3) % cfg.num_classes;
    Tensor labels = Tensor::from_vector_i64(lab, {batch}, device);

    StepResult r;
    r.model = model_name;
    r.params = model->num_parameters();
    r.batch = batch;
    r.device = device.str();
    r.dtype = std::string(dtype_name(dtype));
    r.threads = device.is_cpu() ? omp_get_max_threads() : 0;
    r.flops_per_step = 3.0 * double(models::forward_flops(cfg)) * double(batch);

    // With `split`, the clock is read (after a device sync) between the phases.
    std::vector<double> fwd, bwd, upd;
    auto step = [&](bool split) {
        auto t0 = Clock::now();
        opt.zero_grad();
        Tensor loss = cross_entropy(model->forward(x), labels);
        if (split) {
            sync(device);
            fwd.push_back(ms_since(t0));
            t0 = Clock::now();
        }
        loss.backward();
        if (split) {
            sync(device);
            bwd.push_back(ms_since(t0));
            t0 = Clock::now();
        }
        opt.step();
        r.loss = loss.item();  // also waits for the device
        if (split) upd.push_back(ms_since(t0));
    };

    for (int i = 0; i < warmup; ++i) step(false);
    Allocator& alloc = allocator_for(device);
    alloc.reset_peak();
    const int64_t fresh0 = alloc.stats().fresh_allocations;
    std::vector<double> ms;
    for (int i = 0; i < reps; ++i) {
        auto t0 = Clock::now();
        step(false);
        ms.push_back(ms_since(t0));
    }
    AllocatorStats st = alloc.stats();
    r.peak_bytes = st.peak_bytes_in_use;
    r.reserved_bytes = st.bytes_reserved;
    r.fresh_allocations = st.fresh_allocations - fresh0;
    r.step = summarize(ms);
    if (phases) {
        for (int i = 0; i < reps; ++i) step(true);
        r.forward = summarize(fwd);
        r.backward = summarize(bwd);
        r.optim = summarize(upd);
    }
    return r;
}

}  // namespace vg::bench
