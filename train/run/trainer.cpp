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
#include "train/optim/clip.h"
#include "train/optim/ema.h"
#include "train/optim/optim.h"
#include "train/optim/schedule.h"
#include "train/run/checkpoint.h"
#include "train/run/loader.h"
#include "train/run/plot.h"
#include "train/run/records.h"
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

// --- evaluation ----------------------------------------------------------------------------------

EvalResult evaluate(models::VisionModel& model, std::shared_ptr<const Dataset> data,
                    NormChoice norm, int64_t batch, Device device, int workers) {
    NoGradGuard no_grad;
    model.eval();
    LoaderConfig lc = LoaderConfig::eval(batch, workers);
    lc.aug.norm = norm;
    Loader loader(data, lc);
    loader.start_epoch(0);
    const int K = data->num_classes();
    std::vector<int64_t> correct(K, 0), seen(K, 0);
    EvalResult r;
    double loss_sum = 0;
    int64_t hit1 = 0, hit5 = 0;
    Batch in;
    while (loader.next(in)) {
        int64_t b = in.images.size(0);
        Tensor logits = model.forward(in.images.to(device)).to(DType::F64).cpu();
        loss_sum += cross_entropy(logits, in.labels).item() * double(b);
        std::vector<double> z = logits.to_vector();
        std::vector<int64_t> y = in.labels.to_vector_i64();
        for (int64_t i = 0; i < b; ++i) {
            const double* row = z.data() + i * K;
            int64_t rank = 0;  // classes scoring strictly higher than the true one
            for (int k = 0; k < K; ++k) rank += row[k] > row[y[i]];
            hit1 += rank == 0;
            hit5 += rank < 5;
            seen[y[i]]++;
            correct[y[i]] += rank == 0;
        }
        r.count += b;
    }
    double n = double(std::max<int64_t>(r.count, 1));
    r.loss = loss_sum / n;
    r.top1 = 100.0 * double(hit1) / n;
    r.top5 = 100.0 * double(hit5) / n;
    for (int k = 0; k < K; ++k)
        r.per_class.push_back(seen[k] ? 100.0 * double(correct[k]) / double(seen[k]) : NAN);
    return r;
}

// --- trainer -------------------------------------------------------------------------------------

struct Trainer::Impl {
    Device device;
    std::unique_ptr<Optimizer> opt;
    std::unique_ptr<CosineSchedule> sched;
    std::unique_ptr<Ema> ema;
    std::unique_ptr<Loader> loader;
    std::vector<Tensor> params;
    bool tty = false;
};

Trainer::Trainer(TrainConfig cfg, TrainData data)
    : given_cfg_(cfg), cfg_(std::move(cfg)), data_(std::move(data)) {
    if (cfg_.threads > 0) omp_set_num_threads(cfg_.threads);
    impl_ = std::make_unique<Impl>();
    impl_->device = Device::parse(cfg_.device);
    impl_->tty = ::isatty(STDOUT_FILENO);
    if (!data_.train || !data_.test) {
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

    models::ModelConfig mc = models::model_config(cfg_.model);
    mc.num_classes = data_.train->num_classes();
    mc.in_chans = s.c;
    mc.img_size = s.h;
    mc.drop_path_rate = cfg_.drop_path;
    mc.drop_rate = cfg_.dropout;
    manual_seed(cfg_.seed);
    model_ = models::create_model(mc);
    model_->to(impl_->device);

    NamedTensors named = model_->named_parameters();
    for (auto& [n, p] : named) impl_->params.push_back(p);
    double lr = cfg_.effective_lr();
    if (cfg_.optimizer == "adamw") {
        impl_->opt = std::make_unique<AdamW>(
            named, AdamWOptions{lr, cfg_.beta1, cfg_.beta2, cfg_.opt_eps, cfg_.weight_decay});
    } else if (cfg_.optimizer == "sgd") {
        impl_->opt = std::make_unique<Sgd>(
            named, SgdOptions{lr, cfg_.momentum, 0.0, cfg_.weight_decay, cfg_.nesterov});
    } else {
        fail("Trainer", "unknown optimizer '{}' (expected adamw or sgd)", cfg_.optimizer);
    }
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
    impl_->loader = std::make_unique<Loader>(data_.train, lc);
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
}

void Trainer::resume_from(const std::string& path) {
    Checkpoint c = load_checkpoint(path);
    if (c.model_name != cfg_.model)
        fail("resume", "{} holds a '{}' but the run trains '{}'", path, c.model_name, cfg_.model);
    model_->load_state_dict(c.model);
    impl_->opt->load_state(c.optim);
    if (impl_->ema) {
        if (c.ema.empty()) fail("resume", "{} has no EMA weights but --ema is on", path);
        impl_->ema->load(c.ema);
    }
    default_generator().manual_seed(c.rng_seed);
    default_generator().set_offset(c.rng_offset);
    try {
        nlohmann::json d = nlohmann::json::parse(c.data_state);
        if (d.at("seed").get<uint64_t>() != cfg_.seed)
            fail("resume", "{} was trained with seed {} but the run uses seed {}", path,
                 d.at("seed").get<uint64_t>(), cfg_.seed);
        start_epoch_ = d.at("epoch").get<int64_t>();
        start_batch_ = d.at("batch").get<int64_t>();
    } catch (const nlohmann::json::exception& e) {
        fail("resume", "{}: malformed data-order state ({})", path, e.what());
    }
    step_ = c.step;
    history_ = history_from_json(c.metrics);
    best_top1_ = c.best_acc;
}

EpochRecord Trainer::train_epoch(int64_t epoch, int64_t first_batch) {
    Impl& I = *impl_;
    model_->train();
    const int64_t nb = I.loader->batches_per_epoch();
    I.loader->seek({cfg_.seed, epoch, first_batch});
    EpochRecord rec;
    rec.epoch = epoch;
    double loss_sum = 0;
    int64_t images = 0;
    auto t0 = Clock::now();
    Batch batch;
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
        double l = loss.item();
        if (!std::isfinite(l))
            throw DivergedError(
                fmt::format("the loss became {} at step {} (epoch {}, batch {}); the "
                            "last good checkpoint is kept",
                            l, step_ + 1, epoch, b),
                step_ + 1);
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
        int64_t n = batch.images.size(0);
        loss_sum += l * double(n);
        images += n;
        double el = seconds_since(t0), ips = double(images) / std::max(el, 1e-9);
        double eta = double(nb - b - 1) * el / double(b - first_batch + 1);
        bool last = b + 1 == nb;
        if (!cfg_.quiet && I.tty) {
            int width = 24, done = int(double(width) * double(b + 1) / double(nb));
            fmt::print("\repoch {}/{} [{}{}] {}/{} loss {:.4f} lr {:.2e} {:.0f} img/s ETA {}   ",
                       epoch + 1, cfg_.epochs, std::string(done, '#'),
                       std::string(width - done, '.'), b + 1, nb, l, lr, ips, fmt_duration(eta));
            std::fflush(stdout);
        } else if (!cfg_.quiet && (step_ % std::max<int64_t>(cfg_.log_every, 1) == 0 || last)) {
            fmt::print("epoch {}/{} step {}/{} loss {:.4f} lr {:.3e} {:.0f} img/s ETA {}\n",
                       epoch + 1, cfg_.epochs, b + 1, nb, l, lr, ips, fmt_duration(eta));
            std::fflush(stdout);
        }
        if (stop_requested() && !last) {
            save(checkpoint_path(), epoch, b + 1);
            stopped_ = true;
            if (I.tty && !cfg_.quiet) fmt::print("\n");
            return rec;
        }
    }
    if (I.tty && !cfg_.quiet) fmt::print("\n");
    rec.seconds = seconds_since(t0);
    rec.train_loss = images ? loss_sum / double(images) : NAN;
    rec.images_per_s = double(images) / std::max(rec.seconds, 1e-9);
    return rec;
}

TrainSummary Trainer::run() {
    fs::create_directories(cfg_.output_dir);
    write_text_file((fs::path(cfg_.output_dir) / "config.json").string(),
                    config_to_json(given_cfg_) + "\n");
    std::ofstream log((fs::path(cfg_.output_dir) / "metrics.jsonl").string(),
                      start_epoch_ > 0 || start_batch_ > 0 ? std::ios::app : std::ios::trunc);
    if (!cfg_.quiet)
        fmt::print(
            "vitgrad: {} ({} parameters) on {} ({} train / {} test images), {} epochs, batch {}, "
            "lr {:.3e}, {} threads, device {}\n",
            cfg_.model, model_->num_parameters(), cfg_.dataset, data_.train->size(),
            data_.test->size(), cfg_.epochs, cfg_.batch_size, cfg_.effective_lr(),
            omp_get_max_threads(), cfg_.device);
    if (!cfg_.quiet && !subset_note_.empty()) fmt::print("{}\n", subset_note_);
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
        int64_t eb = cfg_.eval_batch_size > 0 ? cfg_.eval_batch_size : cfg_.batch_size;
        rec.test =
            evaluate(*model_, data_.test, cfg_.augment.norm, eb, impl_->device, cfg_.workers);
        if (impl_->ema) {
            std::map<std::string, Tensor> live;
            for (auto& [k, t] : model_->state_dict()) live[k] = t.clone();
            std::map<std::string, Tensor> avg;
            for (auto& [k, t] : impl_->ema->shadow()) avg[k] = t;
            model_->load_state_dict(avg);
            rec.ema_top1 =
                evaluate(*model_, data_.test, cfg_.augment.norm, eb, impl_->device, cfg_.workers)
                    .top1;
            model_->load_state_dict(live);
        }
        rec.gates = gate_values(*model_);
        rec.internals = measure_internals();
        if (init) rec.internals_init = std::exchange(init, std::nullopt);
        history_.push_back(rec);
        best_top1_ = std::max(best_top1_, rec.test.top1);
        log << record_to_json(rec) << "\n" << std::flush;
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
        bool last = epoch + 1 == cfg_.epochs;
        bool pause = cfg_.stop_after > 0 && epoch + 1 - start_epoch_ >= cfg_.stop_after;
        if (last || pause || stop_requested() ||
            (cfg_.checkpoint_every > 0 && (epoch + 1) % cfg_.checkpoint_every == 0))
            save(checkpoint_path(), epoch + 1, 0);
        if (stop_requested()) {
            stopped_ = true;
            break;
        }
        if (pause) break;
    }
    s.stopped_by_signal = stopped_;
    s.epochs_done = int64_t(history_.size());
    s.steps = step_;
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
    fmt::print(
        "summary: best top-1 {:.2f}%, final top-1 {:.2f}%, {} epochs, {} steps, {}, {:.0f} img/s; "
        "outputs in {}\n",
        s.best_top1, s.final_top1, s.epochs_done, s.steps, fmt_duration(s.seconds), s.images_per_s,
        cfg_.output_dir);
}

}  // namespace vg
