// The training loop and evaluation. Every random draw comes from the global generator (init,
// dropout, drop_path) or from counter-based streams keyed by (seed, epoch, index) (data order,
// augmentation, mixing), so a checkpoint holding the generator state and the data position
// resumes bitwise on the CPU for a fixed thread count.
#include "train/run/trainer.h"

#include <fmt/ranges.h>
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/random.h"
#include "models/registry.h"
#include "train/data/data_paths.h"
#include "train/data/subset.h"
#include "train/init/attn_init.h"
#include "train/optim/clip.h"
#include "train/optim/ema.h"
#include "train/optim/optim.h"
#include "train/optim/schedule.h"
#include "train/run/checkpoint.h"
#include "train/run/finite.h"
#include "train/run/loader.h"
#include "train/run/plot.h"
#include "train/run/records.h"
#include "train/run/resume_check.h"
#include "train/run/run_dir.h"
#include "train/run/signals.h"

namespace vg {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string fmt_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    int64_t t = int64_t(s + 0.5);
    if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
    if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
    return fmt::format("{}s", t);
}

// A non-finite value as a user reads it: "NaN" (fmt writes "-nan" for a negative NaN), "inf".
std::string bad_number(double v) { return std::isnan(v) ? "NaN" : fmt::format("{}", v); }

// sigmoid(lambda) of every GPSA layer (parameters named "*.gating_param"), in block order.
std::vector<std::vector<double>> gate_values(const models::VisionModel& model) {
    std::vector<std::vector<double>> out;
    for (auto& [name, p] : model.named_parameters()) {
        if (name.size() < 12 || name.compare(name.size() - 12, 12, "gating_param") != 0) continue;
        std::vector<double> g;
        for (double l : p.to_vector()) g.push_back(1.0 / (1.0 + std::exp(-l)));
        out.push_back(std::move(g));
    }
    return out;
}

}  // namespace

// --- trainer -------------------------------------------------------------------------------------

struct Trainer::Impl {
    Device device;
    std::unique_ptr<Optimizer> opt;
    std::unique_ptr<CosineSchedule> sched;
    std::unique_ptr<Ema> ema;
    std::unique_ptr<Loader> loader;
    NamedTensors named;
    std::vector<Tensor> params;
    bool tty = false;
    std::ofstream log;  // metrics.jsonl, appended one line per epoch

    // Losses of the steps since the last read-back, still on the device: reading each one back
    // would make every step wait for the device.
    struct Step {
        int64_t step, epoch, batch, images;
    };
    std::vector<Tensor> pending;
    std::vector<Step> pending_steps;
    double loss_sum = 0;  // of the epoch's read-back losses, times their batch sizes
    int64_t loss_images = 0;
    double last_loss = NAN;  // the newest read-back loss (progress display)
    int64_t readbacks = 0;
    std::string attn_init_summary;
};

Trainer::Trainer(TrainConfig cfg, TrainData data)
    : given_cfg_(cfg), cfg_(std::move(cfg)), data_(std::move(data)) {
    const bool given = data_.train && data_.test;
    check_config(cfg_, given ? std::vector<std::string>{"dataset"} : std::vector<std::string>{});
    // The run directory is checked before the data is loaded: a bad --output-dir fails at once.
    prepare_run_dir(cfg_.output_dir);
    for (const std::string& f : remove_stale_temporaries(cfg_.output_dir))
        if (!cfg_.quiet) fmt::print("removed {} (left by an interrupted checkpoint write)\n", f);
    if (cfg_.threads > 0) omp_set_num_threads(cfg_.threads);
    impl_ = std::make_unique<Impl>();
    impl_->device = Device::parse(cfg_.device);
    impl_->tty = ::isatty(STDOUT_FILENO);
    const AttnInitSpec attn_init = parse_attn_init(cfg_.attn_init);  // bad text fails early
    models::ModelConfig mc = run_model_config(cfg_.model, cfg_.model_kwargs, cfg_.attn_init);
    if (!given) {
        fs::path root = resolve_data_root(cfg_.data_dir);
        data_.train = load_dataset(cfg_.dataset, true, root, cfg_.limit_train);
        data_.test = load_dataset(cfg_.dataset, false, root, cfg_.limit_test);
    }
    ImageShape s = data_.train->image_shape();
    if (s.h != s.w)
        fail("Trainer", "square images expected, {} has {}x{}", data_.train->name(), s.h, s.w);
    plan_subset();
    probe::parse_map_input(cfg_.internals_input);  // an unknown value fails before any work
    if (cfg_.track_internals) {
        if (cfg_.internals_images < 1 || cfg_.internals_images > data_.test->size())
            fail("internals_images", "must lie in [1, {}] (the test images of {}), got {}",
                 data_.test->size(), data_.test->name(), cfg_.internals_images);
        internals_images_ = eval_images(*data_.test, cfg_.internals_images,
                                        select_stats(cfg_.augment, data_.test->stats()));
    }

    mc.num_classes = data_.train->num_classes();
    mc.in_chans = s.c;
    mc.img_size = s.h;
    mc.drop_path_rate = cfg_.drop_path;
    mc.drop_rate = cfg_.dropout;
    manual_seed(cfg_.seed);
    model_ = models::create_model(mc);
    if (attn_init.kind != AttnInitKind::None && cfg_.resume.empty())
        impl_->attn_init_summary =
            apply_attn_init(*model_, attn_init, default_generator(), cfg_.attn_init_cache)
                .summary();
    model_->to(impl_->device);

    impl_->named = model_->named_parameters();
    for (auto& [n, p] : impl_->named) impl_->params.push_back(p);
    double lr = cfg_.effective_lr();
    if (cfg_.optimizer == "adamw")
        impl_->opt = std::make_unique<AdamW>(
            impl_->named,
            AdamWOptions{lr, cfg_.beta1, cfg_.beta2, cfg_.opt_eps, cfg_.weight_decay});
    else
        impl_->opt = std::make_unique<Sgd>(
            impl_->named, SgdOptions{lr, cfg_.momentum, 0.0, cfg_.weight_decay, cfg_.nesterov});
    impl_->sched = std::make_unique<CosineSchedule>(
        ScheduleOptions{lr, cfg_.warmup_lr, cfg_.min_lr, cfg_.warmup_epochs, double(cfg_.epochs),
                        cfg_.sched_per_step, true});
    if (cfg_.ema) {
        NamedTensors state;
        for (auto& [k, t] : model_->state_dict()) state.emplace_back(k, t);
        impl_->ema = std::make_unique<Ema>(state, cfg_.ema_decay);
    }
    LoaderConfig lc;
    lc.batch_size = cfg_.batch_size;
    lc.workers = cfg_.workers;
    lc.seed = cfg_.seed;
    lc.aug = cfg_.augment;
    lc.interrupted = &stop_requested;
    impl_->loader = std::make_unique<Loader>(data_.train, lc);
    if (impl_->loader->batches_per_epoch() == 0)
        fail("Trainer",
             "batch_size {} is larger than the {} training samples of an epoch of {}: no step "
             "would run (lower --batch-size)",
             cfg_.batch_size, impl_->loader->samples_per_epoch(), data_.train->name());
    if (!cfg_.resume.empty()) resume_from(cfg_.resume);
}

Trainer::~Trainer() = default;

void Trainer::plan_subset() {
    const double f = cfg_.train_fraction;
    if (!(f > 0.0 && f <= 1.0))
        fail("train_fraction", "the fraction must lie in (0, 1], got {}", f);
    if (f == 1.0) return;
    const int64_t full = data_.train->size();
    data_.train = train_subset(data_.train, f, cfg_.subset_seed);
    const int64_t n = data_.train->size();
    subset_note_ =
        fmt::format("training subset: {} of {} images ({:g}% of each class, subset seed {})", n,
                    full, 100.0 * f, cfg_.subset_seed);
    if (!cfg_.epochs_scale_with_fraction || cfg_.epochs <= 0) return;
    // Optimiser steps per epoch as the training loader counts them (last partial batch dropped).
    auto steps = [&](int64_t images) {
        const AugmentConfig& a = cfg_.augment;
        int64_t samples =
            a.repeats > 1
                ? int64_t(
                      epoch_order(images, cfg_.seed, 0, false, a.repeats, a.repeat_replicas).size())
                : images;
        return samples / cfg_.batch_size;
    };
    const int64_t full_steps = steps(full), sub_steps = steps(n);
    if (sub_steps == 0)
        fail("train_fraction", "the subset's {} images are fewer than one batch of {}", n,
             cfg_.batch_size);
    // Whole epochs whose steps come nearest to the full run's; the warm-up and the mixup cut-off
    // scale by the same ratio, so the schedule over images seen is the full run's.
    const int64_t given = cfg_.epochs;
    cfg_.epochs =
        std::max<int64_t>(1, std::llround(double(given) * double(full_steps) / double(sub_steps)));
    const double ratio = double(cfg_.epochs) / double(given);
    cfg_.warmup_epochs *= ratio;
    if (cfg_.augment.mixup_off_epoch > 0)
        cfg_.augment.mixup_off_epoch =
            std::max<int64_t>(1, std::llround(double(cfg_.augment.mixup_off_epoch) * ratio));
    subset_note_ += fmt::format(
        "; epochs {} -> {} (warm-up {:g} -> {:g}): {} steps, against {} on the full set", given,
        cfg_.epochs, given_cfg_.warmup_epochs, cfg_.warmup_epochs, cfg_.epochs * sub_steps,
        given * full_steps);
}

std::optional<probe::Study> Trainer::measure_internals() {
    if (!cfg_.track_internals) return std::nullopt;
    auto t0 = Clock::now();
    probe::Study s =
        probe::study(*model_, internals_images_, probe::parse_map_input(cfg_.internals_input));
    s.seconds = seconds_since(t0);
    return s;
}

std::string Trainer::checkpoint_path() const {
    return (fs::path(cfg_.output_dir) / "checkpoint.safetensors").string();
}

void Trainer::save(const std::string& path, int64_t epoch_done, int64_t batch_in_epoch) {
    Checkpoint c;
    c.model = model_->state_dict();
    c.optim = impl_->opt->state();
    if (impl_->ema)
        for (auto& [k, t] : impl_->ema->shadow()) c.ema[k] = t;
    c.epoch = epoch_done;
    c.step = step_;
    c.rng_seed = default_generator().seed();
    c.rng_offset = default_generator().offset();
    c.data_state =
        nlohmann::json{{"seed", cfg_.seed}, {"epoch", epoch_done}, {"batch", batch_in_epoch}}
            .dump();
    c.config = config_to_json(given_cfg_);
    c.metrics = history_to_json(history_);
    c.model_name = cfg_.model;
    c.best_acc = best_top1_;
    save_checkpoint(path, c);
    last_good_ = fmt::format("{} ({} epochs, step {})", path, epoch_done, step_);
}

void Trainer::resume_from(const std::string& path) {
    Checkpoint c = load_checkpoint(path);
    ResumePoint at = check_resume(c, path, cfg_, impl_->loader->batches_per_epoch());
    try {
        model_->load_state_dict(c.model);
        impl_->opt->load_state(c.optim);
        if (impl_->ema) {
            if (c.ema.empty()) fail("resume", "it has no EMA weights but --ema is on");
            impl_->ema->load(c.ema);
        }
    } catch (const Error& e) {
        fail("resume", "{}: {}", path, e.what());
    }
    if (!impl_->ema && !c.ema.empty() && !cfg_.quiet)
        fmt::print("note: {} holds EMA weights; --ema is off, so they are not used\n", path);
    for (const auto* section : {&c.model, &c.ema})
        if (std::string bad = first_nonfinite(*section); !bad.empty())
            fail("resume", "{}: tensor '{}' holds NaN or Inf values", path, bad);
    default_generator().manual_seed(c.rng_seed);
    default_generator().set_offset(c.rng_offset);
    start_epoch_ = at.epoch;
    start_batch_ = at.batch;
    step_ = c.step;
    history_ = std::move(at.history);
    best_top1_ = c.best_acc;
    last_good_ = fmt::format("{} ({} epochs, step {}; the checkpoint this run resumed from)", path,
                             c.epoch, c.step);
}

void Trainer::diverged(const std::string& what, int64_t step) const {
    std::string good = !last_good_.empty() ? "the last good checkpoint is " + last_good_
                                           : "no checkpoint of this run was saved";
    if (last_good_.empty() && fs::exists(checkpoint_path()))
        good += fmt::format(" ({} is from an earlier run)", checkpoint_path());
    throw DivergedError(fmt::format("{}; {}", what, good), step);
}

void Trainer::read_back_losses() {
    Impl& I = *impl_;
    if (I.pending.empty()) return;
    std::vector<double> v = stack(I.pending, 0).to(DType::F64).cpu().to_vector();
    ++I.readbacks;
    for (size_t i = 0; i < v.size(); ++i) {
        const Impl::Step& s = I.pending_steps[i];
        if (!std::isfinite(v[i]))
            diverged(fmt::format("the loss became {} at step {} (epoch {}, batch {})",
                                 bad_number(v[i]), s.step, s.epoch + 1, s.batch + 1),
                     s.step);
        I.loss_sum += v[i] * double(s.images);
        I.loss_images += s.images;
    }
    I.last_loss = v.back();
    I.pending.clear();
    I.pending_steps.clear();
}

void Trainer::check_parameters(int64_t epoch) {
    if (std::string bad = first_nonfinite(impl_->named); !bad.empty())
        diverged(fmt::format("parameter '{}' holds NaN or Inf after step {} (epoch {})", bad, step_,
                             epoch + 1),
                 step_);
}

void Trainer::check_eval(const EvalResult& r, int64_t epoch, const char* which) {
    if (r.nonfinite == 0 && std::isfinite(r.loss)) return;
    diverged(fmt::format("the {}test loss became {} after epoch {} ({} of {} test images gave "
                         "NaN or Inf logits)",
                         which, bad_number(r.loss), epoch + 1, r.nonfinite, r.count),
             step_);
}

EpochRecord Trainer::train_epoch(int64_t epoch, int64_t first_batch) {
    Impl& I = *impl_;
    model_->train();
    const int64_t nb = I.loader->batches_per_epoch();
    I.loader->seek({cfg_.seed, epoch, first_batch});
    EpochRecord rec;
    rec.epoch = epoch;
    I.loss_sum = 0;
    I.loss_images = 0;
    int64_t images = 0;
    auto t0 = Clock::now();
    Batch batch;
    auto stop_at = [&](int64_t next_batch) {
        read_back_losses();
        check_parameters(epoch);
        save(checkpoint_path(), epoch, next_batch);
        stopped_ = true;
        if (I.tty && !cfg_.quiet) fmt::print("\n");
        return rec;
    };
    while (I.loader->next(batch)) {
        const int64_t b = batch.index;
        double lr = I.sched->lr_at(epoch, b, nb);
        I.opt->set_lr(lr);
        rec.lr = lr;
        Tensor x = batch.images.to(I.device);
        Tensor logits = model_->forward(x);
        Tensor loss =
            batch.targets.defined()
                ? cross_entropy_soft(logits, batch.targets.to(I.device).to(logits.dtype()))
                : cross_entropy(logits, batch.labels.to(I.device));
        I.opt->zero_grad();
        loss.backward();
        if (cfg_.clip_grad > 0) clip_grad_norm(I.params, cfg_.clip_grad);
        I.opt->step();
        if (I.ema) {
            NamedTensors state;
            for (auto& [k, t] : model_->state_dict()) state.emplace_back(k, t);
            I.ema->update(state);
        }
        ++step_;
        const int64_t n = batch.images.size(0);
        I.pending.push_back(loss.detach());
        I.pending_steps.push_back({step_, epoch, b, n});
        images += n;
        const bool last = b + 1 == nb;
        const bool report = step_ % cfg_.log_every == 0 || last;
        if (report) read_back_losses();
        double el = seconds_since(t0), ips = double(images) / std::max(el, 1e-9);
        double eta = double(nb - b - 1) * el / double(b - first_batch + 1);
        if (!cfg_.quiet && I.tty) {
            int width = 24, done = int(double(width) * double(b + 1) / double(nb));
            fmt::print("\repoch {}/{} [{}{}] {}/{} loss {:.4f} lr {:.2e} {:.0f} img/s ETA {}   ",
                       epoch + 1, cfg_.epochs, std::string(done, '#'),
                       std::string(width - done, '.'), b + 1, nb, I.last_loss, lr, ips,
                       fmt_duration(eta));
            std::fflush(stdout);
        } else if (!cfg_.quiet && report) {
            fmt::print("epoch {}/{} step {}/{} loss {:.4f} lr {:.3e} {:.0f} img/s ETA {}\n",
                       epoch + 1, cfg_.epochs, b + 1, nb, I.last_loss, lr, ips, fmt_duration(eta));
            std::fflush(stdout);
        }
        if (stop_requested() && !last) return stop_at(b + 1);
    }
    // The loader stops early only when a signal interrupted the batch it was building.
    if (const int64_t next = I.loader->state().batch; next < nb) return stop_at(next);
    if (I.tty && !cfg_.quiet) fmt::print("\n");
    read_back_losses();
    rec.seconds = seconds_since(t0);
    rec.train_loss = I.loss_images ? I.loss_sum / double(I.loss_images) : NAN;
    rec.images_per_s = double(images) / std::max(rec.seconds, 1e-9);
    return rec;
}

EvalResult Trainer::evaluate_ema(int64_t eval_batch) {
    std::map<std::string, Tensor> live;
    for (auto& [k, t] : model_->state_dict()) live[k] = t.clone();
    std::map<std::string, Tensor> avg;
    for (auto& [k, t] : impl_->ema->shadow()) avg[k] = t;
    model_->load_state_dict(avg);
    EvalResult r =
        evaluate(*model_, data_.test, cfg_.augment.norm, eval_batch, impl_->device, cfg_.workers);
    model_->load_state_dict(live);
    return r;
}

// metrics.jsonl always matches the weights it sits next to: a fresh run starts it empty, a
// resumed one rewrites it from the checkpoint's own history, so epochs logged after the
// checkpoint was written (a kill between the two, or checkpoint_every > 1) are not repeated.
void Trainer::open_metrics_log() {
    std::string path = (fs::path(cfg_.output_dir) / "metrics.jsonl").string();
    std::string text;
    for (const EpochRecord& r : history_) text += record_to_json(r) + "\n";
    write_text_file(path, text);
    impl_->log.open(path, std::ios::app);
    if (!impl_->log) fail("Trainer", "cannot open {} for appending", path);
}

TrainSummary Trainer::run() {
    write_text_file((fs::path(cfg_.output_dir) / "config.json").string(),
                    config_to_json(given_cfg_) + "\n");
    open_metrics_log();
    if (!cfg_.quiet)
        fmt::print(
            "vitgrad: {} ({} parameters) on {} ({} train / {} test images), {} epochs, batch {}, "
            "lr {:.3e}, {} threads, device {}\n",
            cfg_.model, model_->num_parameters(), cfg_.dataset, data_.train->size(),
            data_.test->size(), cfg_.epochs, cfg_.batch_size, cfg_.effective_lr(),
            omp_get_max_threads(), cfg_.device);
    if (!cfg_.quiet && !subset_note_.empty()) fmt::print("{}\n", subset_note_);
    if (!cfg_.quiet && !impl_->attn_init_summary.empty())
        fmt::print("attn-init {}\n", impl_->attn_init_summary);
    // Handlers are removed however the loop ends (divergence throws).
    struct StopHandlers {
        StopHandlers() { install_stop_handlers(); }
        ~StopHandlers() { uninstall_stop_handlers(); }
    } handlers;
    TrainSummary s;
    std::optional<probe::Study> init;
    if (start_epoch_ == 0 && start_batch_ == 0) init = measure_internals();
    auto t0 = Clock::now();
    int64_t images = 0;
    double train_seconds = 0;
    for (int64_t epoch = start_epoch_; epoch < cfg_.epochs; ++epoch) {
        int64_t first = epoch == start_epoch_ ? start_batch_ : 0;
        EpochRecord rec = train_epoch(epoch, first);
        if (stopped_) break;
        images += int64_t(rec.images_per_s * rec.seconds + 0.5);
        train_seconds += rec.seconds;
        // Nothing is evaluated, logged or saved from weights that are not finite.
        check_parameters(epoch);
        int64_t eb = cfg_.eval_batch_size > 0 ? cfg_.eval_batch_size : cfg_.batch_size;
        rec.test =
            evaluate(*model_, data_.test, cfg_.augment.norm, eb, impl_->device, cfg_.workers);
        check_eval(rec.test, epoch, "");
        if (impl_->ema) {
            EvalResult e = evaluate_ema(eb);
            check_eval(e, epoch, "EMA ");
            rec.ema_top1 = e.top1;
        }
        rec.gates = gate_values(*model_);
        rec.internals = measure_internals();
        if (init) rec.internals_init = std::exchange(init, std::nullopt);
        history_.push_back(rec);
        best_top1_ = std::max(best_top1_, rec.test.top1);
        bool last = epoch + 1 == cfg_.epochs;
        bool pause = cfg_.stop_after > 0 && epoch + 1 - start_epoch_ >= cfg_.stop_after;
        if (last || pause || stop_requested() ||
            (cfg_.checkpoint_every > 0 && (epoch + 1) % cfg_.checkpoint_every == 0))
            save(checkpoint_path(), epoch + 1, 0);
        impl_->log << record_to_json(rec) << "\n" << std::flush;
        if (!impl_->log) fail("Trainer", "writing the metrics of epoch {} failed", epoch + 1);
        if (!cfg_.quiet)
            fmt::print(
                "epoch {}/{}: train loss {:.4f}, test loss {:.4f}, top-1 {:.2f}%, top-5 {:.2f}%{}, "
                "{:.1f}s, {:.0f} img/s\n",
                epoch + 1, cfg_.epochs, rec.train_loss, rec.test.loss, rec.test.top1, rec.test.top5,
                rec.ema_top1 >= 0 ? fmt::format(" (EMA {:.2f}%)", rec.ema_top1) : "", rec.seconds,
                rec.images_per_s);
        if (!cfg_.quiet && rec.internals) {
            std::vector<std::string> per_layer;
            for (const probe::LayerStudy& l : rec.internals->layers)
                per_layer.push_back(fmt::format("{:.2f}", l.mean_nonlocality()));
            fmt::print("  non-locality per layer: {} ({} test images, {:.1f}s)\n",
                       fmt::join(per_layer, " "), rec.internals->images, rec.internals->seconds);
        }
        if (stop_requested()) {
            stopped_ = true;
            break;
        }
        if (pause) break;
    }
    s.stopped_by_signal = stopped_;
    s.epochs_done = int64_t(history_.size());
    s.steps = step_;
    s.loss_readbacks = impl_->readbacks;
    s.best_top1 = best_top1_;
    s.final_top1 = history_.empty() ? 0 : history_.back().test.top1;
    s.seconds = seconds_since(t0);
    s.images_per_s = double(images) / std::max(train_seconds, 1e-9);
    write_outputs(s);
    return s;
}

void Trainer::write_outputs(const TrainSummary& s) const {
    std::vector<std::string> plots = write_plots(cfg_.output_dir, history_);
    if (!plots.empty()) fmt::print("plots: {}\n", fmt::join(plots, ", "));
    if (s.stopped_by_signal)
        fmt::print(
            "stopped by signal {} after step {}; checkpoint saved to {} (resume with --resume)\n",
            stop_signal(), s.steps, checkpoint_path());
    fmt::print("{}\n", summary_line(s, cfg_.output_dir));
}

std::string summary_line(const TrainSummary& s, const std::string& output_dir) {
    if (s.epochs_done == 0)
        return fmt::format("summary: no epoch finished, {} steps, {}; outputs in {}", s.steps,
                           fmt_duration(s.seconds), output_dir);
    return fmt::format(
        "summary: best top-1 {:.2f}%, final top-1 {:.2f}%, {} epochs, {} steps, {}{}; outputs in "
        "{}",
        s.best_top1, s.final_top1, s.epochs_done, s.steps, fmt_duration(s.seconds),
        s.images_per_s > 0 ? fmt::format(", {:.0f} img/s", s.images_per_s) : "", output_dir);
}

}  // namespace vg
