// The `vitgrad train` and `vitgrad eval` commands on top of Trainer and evaluate().
#include <omp.h>

#include <cmath>
#include <filesystem>

#include "core/random.h"
#include "models/registry.h"
#include "train/data/data_paths.h"
#include "train/init/attn_init.h"
#include "train/run/checkpoint.h"
#include "train/run/finite.h"
#include "train/run/plot.h"
#include "train/run/signals.h"
#include "train/run/trainer.h"
#if VG_WITH_CUDA
#include "cuda/runtime.h"
#endif

namespace vg {

namespace {
// The CUDA warning is said only where a CUDA run would go ahead: elsewhere the run stops at its
// one error line (no CUDA device).
bool cuda_usable() {
#if VG_WITH_CUDA
    return cuda::available();
#else
    return false;
#endif
}
}  // namespace

int run_training(const TrainConfig& cfg) {
    if (Device::parse(cfg.device).is_cuda() && cuda_usable())
        fmt::print(stderr, "{}\n", kCudaUnverifiedWarning);
    try {
        Trainer trainer(cfg);
        TrainSummary s = trainer.run();
        if (s.stopped_by_signal) return 128 + stop_signal();
        return 0;
    } catch (const DivergedError& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 2;
    }
}

TrainConfig eval_config(const Checkpoint& c, const std::string& source,
                        const TrainConfig& overrides, const std::vector<std::string>& overridden) {
    TrainConfig cfg;
    apply_config_text(cfg, c.config, source + " (saved config)");
    // A subset is what the eval command is told, never what the training run used.
    cfg.limit_test = TrainConfig{}.limit_test;
    for (const Knob& k : train_knobs())
        if (std::find(overridden.begin(), overridden.end(), k.name) != overridden.end())
            k.set(cfg, k.get(overrides));
    check_config(cfg);
    return cfg;
}

int run_eval(const std::string& checkpoint, const TrainConfig& overrides,
             const std::vector<std::string>& overridden, bool use_ema,
             const std::string& predictions) {
    Checkpoint c = load_checkpoint(checkpoint);
    TrainConfig cfg = eval_config(c, checkpoint, overrides, overridden);
    if (cfg.threads > 0) omp_set_num_threads(cfg.threads);
    if (use_ema && c.ema.empty())
        fail("eval", "{} holds no EMA weights (train with --ema)", checkpoint);
    const std::map<std::string, Tensor>& weights = use_ema ? c.ema : c.model;
    if (std::string bad = first_nonfinite(weights); !bad.empty())
        fail("eval", "{}: tensor '{}' holds NaN or Inf values; these weights cannot be evaluated",
             checkpoint, bad);

    auto root = resolve_data_root(cfg.data_dir);
    std::shared_ptr<const Dataset> test = load_dataset(cfg.dataset, false, root, cfg.limit_test);
    models::ModelConfig mc = run_model_config(c.model_name, cfg.model_kwargs, cfg.attn_init);
    mc.num_classes = test->num_classes();
    mc.in_chans = test->image_shape().c;
    mc.img_size = test->image_shape().h;
    auto model = models::create_model(mc);
    model->load_state_dict(weights);
    Device device = Device::parse(cfg.device);
    model->to(device);
    int64_t eb = cfg.eval_batch_size > 0 ? cfg.eval_batch_size : cfg.batch_size;
    EvalResult r = evaluate(*model, test, cfg.augment.norm, eb, device, cfg.workers);
    if (r.nonfinite > 0)
        fail("eval", "{} of {} test images gave NaN or Inf logits with the weights of {}",
             r.nonfinite, r.count, checkpoint);
    fmt::print("{}: {}{} after {} epochs ({} steps) on {} ({} images)\n", checkpoint, c.model_name,
               use_ema ? " (EMA weights)" : "", c.epoch, c.step, test->name(), r.count);
    fmt::print("top-1 {:.2f}%  top-5 {:.2f}%  loss {:.4f}\n", r.top1, r.top5, r.loss);
    fmt::print("per-class accuracy:\n");
    const auto& names = test->class_names();
    for (size_t k = 0; k < r.per_class.size(); ++k)
        fmt::print("  {:>3} {:<14} {}\n", k, k < names.size() ? names[k] : "",
                   std::isnan(r.per_class[k]) ? std::string("(absent)")
                                              : fmt::format("{:.2f}%", r.per_class[k]));
    if (!predictions.empty()) {
        std::string csv = "index,label,predicted\n";
        for (size_t i = 0; i < r.predicted.size(); ++i)
            csv += fmt::format("{},{},{}\n", i, test->label(int64_t(i)), r.predicted[i]);
        write_text_file(predictions, csv);
        fmt::print("predictions of {} images written to {}\n", r.predicted.size(), predictions);
    }
    return 0;
}

}  // namespace vg
