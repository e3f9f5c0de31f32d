// The knob table and config-file parsing for TrainConfig.
#include "train/run/config.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "models/model_kwargs.h"
#include "models/registry.h"
#include "train/data/readable_file.h"
#include "train/init/attn_init.h"
#include "train/run/knob_values.h"

namespace vg {

namespace {

// The text form of a value in its domain (enums by name).
template <typename D, typename T>
std::string show_in(const D&, const T& v) {
    return show_value(v);
}
template <typename E>
std::string show_in(const Names<E>& d, const E& v) {
    return d.show(v);
}

// A knob over the field `access` returns, accepting the values of `domain`. This is the one path
// every knob type takes: numbers, text, booleans and enums differ only in their domain.
template <typename Access, typename Domain>
Knob knob(const char* name, const char* help, Access access, Domain domain) {
    using T = std::remove_cvref_t<decltype(access(std::declval<TrainConfig&>()))>;
    Knob k;
    k.name = name;
    k.help = help;
    k.allowed = domain.describe();
    k.is_bool = std::is_same_v<T, bool>;
    k.type = type_label<T>();
    auto field = [access](const TrainConfig& c) -> const T& {
        return access(const_cast<TrainConfig&>(c));
    };
    k.set = [access, domain](TrainConfig& c, const std::string& text) {
        return parse_in(domain, text, access(c));
    };
    k.get = [field, domain](const TrainConfig& c) { return show_in(domain, field(c)); };
    k.problem = [field, domain](const TrainConfig& c) { return domain.problem(field(c)); };
    return k;
}

// VG_KNOB(field, help, domain): a TrainConfig field; VG_AUG_KNOB(name, field, help, domain): an
// AugmentConfig field under its recipe name. Adding a knob is one such line.
#define VG_KNOB(field, help, domain) \
    knob(                            \
        #field, help, [](TrainConfig & c) -> auto& { return c.field; }, domain)
#define VG_AUG_KNOB(name, field, help, domain) \
    knob(                                      \
        name, help, [](TrainConfig & c) -> auto& { return c.augment.field; }, domain)

constexpr int64_t kMaxBatch = 65536;     // per step; memory runs out long before
constexpr int64_t kMaxEpochs = 100'000;  // epochs, and any knob counted in epochs
constexpr int64_t kMaxImages = 100'000'000;
const Range<double> kProb = closed(0.0, 1.0);
const Range<double> kLr = closed(0.0, 100.0);

std::vector<Knob> make_knobs() {
    return {
        VG_KNOB(model, "model name from the registry",
                one_of(models::model_names, "a name listed by `vitgrad models`")),
        VG_KNOB(dataset, "training and test data",
                one_of({"cifar10", "cifar100", "fashion_mnist"})),
        VG_KNOB(data_dir, "data root (empty: $VITGRAD_DATA, then ../shared/data)",
                any_text("a directory")),
        VG_KNOB(output_dir, "run directory: metrics, checkpoints, plots",
                nonempty_text("a directory")),
        VG_KNOB(device, "where to train", device_names()),
        VG_KNOB(threads, "OpenMP threads (0: default)", closed(0, 1024)),
        VG_KNOB(workers, "background threads building batches (0: synchronous)", closed(0, 64)),
        VG_KNOB(seed, "seed of init, dropout, data order and augmentation",
                closed<uint64_t>(0, UINT64_MAX)),
        VG_KNOB(limit_train, "use only the first N training images (0: all)",
                closed<int64_t>(0, kMaxImages)),
        VG_KNOB(limit_test, "use only the first N test images (0: all)",
                closed<int64_t>(0, kMaxImages)),
        VG_KNOB(model_kwargs, "model overrides key=value,... (docs/models.md)",
                model_kwargs_text()),
        VG_KNOB(attn_init, "structured attention init (docs/models.md)", attn_init_text()),
        VG_KNOB(attn_init_cache, "directory caching the impulse Adam solves (empty: off)",
                any_text("a directory")),
        VG_KNOB(epochs, "training epochs", closed<int64_t>(1, kMaxEpochs)),
        VG_KNOB(batch_size, "training batch size", closed<int64_t>(1, kMaxBatch)),
        VG_KNOB(eval_batch_size, "evaluation batch size (0: batch_size)",
                closed<int64_t>(0, kMaxBatch)),
        VG_KNOB(optimizer, "optimiser", one_of({"adamw", "sgd"})),
        VG_KNOB(lr, "peak lr (0: base_lr * batch_size / lr_base_batch)", kLr),
        VG_KNOB(base_lr, "lr per lr_base_batch images (linear scaling rule)", open_lo(0, 100)),
        VG_KNOB(lr_base_batch, "batch size base_lr refers to", closed<int64_t>(1, kMaxBatch)),
        VG_KNOB(weight_decay,
                "decoupled weight decay (not on 1-D, biases, pos_embed, cls/dist token)",
                closed(0.0, 10.0)),
        VG_KNOB(beta1, "AdamW beta1", open_hi(0, 1)),
        VG_KNOB(beta2, "AdamW beta2", open_hi(0, 1)),
        VG_KNOB(opt_eps, "AdamW eps", open_lo(0, 1)),
        VG_KNOB(momentum, "SGD momentum", open_hi(0, 1)),
        VG_KNOB(nesterov, "SGD nesterov momentum", Flag{}),
        VG_KNOB(clip_grad, "global gradient-norm clip (0: off)", closed(0.0, 1e6)),
        VG_KNOB(warmup_epochs, "linear warm-up epochs", closed(0.0, double(kMaxEpochs))),
        VG_KNOB(warmup_lr, "lr at the start of warm-up", kLr),
        VG_KNOB(min_lr, "floor of the cosine", kLr),
        VG_KNOB(sched_per_step, "update the lr every step instead of every epoch", Flag{}),
        VG_KNOB(drop_path, "stochastic depth rate (linear over depth)", open_hi(0, 1)),
        VG_KNOB(dropout, "dropout rate", open_hi(0, 1)),
        VG_KNOB(ema, "keep an EMA of the weights and evaluate it too", Flag{}),
        VG_KNOB(ema_decay, "EMA decay per step", kProb),
        VG_KNOB(train_fraction, "train on this class-balanced fraction of the training set",
                open_lo(0, 1)),
        VG_KNOB(subset_seed, "seed choosing the train_fraction subset (independent of seed)",
                closed<uint64_t>(0, UINT64_MAX)),
        VG_KNOB(epochs_scale_with_fraction,
                "scale epochs (and warm-up, mixup_off_epoch) so a subset run takes as many steps "
                "as the full set",
                Flag{}),
        VG_KNOB(track_internals,
                "record per-layer non-locality, GPSA gates and attention centres every epoch",
                Flag{}),
        VG_KNOB(internals_images,
                "test images the internals are measured on (at most the test set)",
                closed<int64_t>(1, kMaxImages)),
        VG_KNOB(internals_input, "activations | patch_embed (the reference code's logging)",
                one_of({"activations", "patch_embed"})),
        VG_KNOB(log_every, "steps between progress lines (and loss read-backs)",
                closed<int64_t>(1, 1'000'000'000)),
        VG_KNOB(quiet, "print only the final summary line", Flag{}),
        VG_KNOB(checkpoint_every, "epochs between checkpoints", closed<int64_t>(1, kMaxEpochs)),
        VG_KNOB(resume, "checkpoint to resume from (empty: start fresh)", any_text("a file")),
        VG_KNOB(stop_after,
                "save and stop after this many epochs of this invocation (0: run to the end)",
                closed<int64_t>(0, kMaxEpochs)),
        VG_AUG_KNOB("crop_padding", crop_padding, "zero padding before the random crop (0: off)",
                    closed(0, 64)),
        VG_AUG_KNOB("hflip", hflip_prob, "horizontal flip probability", kProb),
        VG_AUG_KNOB("randaugment", randaugment, "RandAugment on/off", Flag{}),
        VG_AUG_KNOB("ra_num_ops", ra_num_ops, "RandAugment ops per image", closed(0, 16)),
        VG_AUG_KNOB("ra_magnitude", ra_magnitude, "RandAugment magnitude", closed(0.0, 10.0)),
        VG_AUG_KNOB("ra_magnitude_std", ra_magnitude_std, "RandAugment magnitude std",
                    closed(0.0, 10.0)),
        VG_AUG_KNOB("ra_increasing", ra_increasing, "RandAugment 'increasing' op variants", Flag{}),
        VG_AUG_KNOB("ra_op_prob", ra_op_prob, "probability of applying each drawn op", kProb),
        VG_AUG_KNOB("ra_translate_pct", ra_translate_pct, "max translation, fraction of the side",
                    kProb),
        VG_AUG_KNOB("ra_interp", ra_interp, "RandAugment resampling",
                    (Names<Interp>{{{"nearest", Interp::Nearest},
                                    {"bilinear", Interp::Bilinear},
                                    {"bicubic", Interp::Bicubic}}})),
        VG_AUG_KNOB("norm", norm, "input statistics",
                    (Names<NormChoice>{
                        {{"dataset", NormChoice::Dataset}, {"imagenet", NormChoice::ImageNet}}})),
        VG_AUG_KNOB("reprob", erase_prob, "random erasing probability", kProb),
        VG_AUG_KNOB("remode", erase_mode, "random erasing fill",
                    (Names<EraseMode>{{{"const", EraseMode::Const},
                                       {"rand", EraseMode::Rand},
                                       {"pixel", EraseMode::Pixel}}})),
        VG_AUG_KNOB("recount", erase_count, "random erasing boxes", closed(1, 16)),
        VG_AUG_KNOB("erase_min_area", erase_min_area, "random erasing min area fraction",
                    open_lo(0, 1)),
        VG_AUG_KNOB("erase_max_area", erase_max_area, "random erasing max area fraction",
                    open_lo(0, 1)),
        VG_AUG_KNOB("erase_min_aspect", erase_min_aspect,
                    "random erasing min aspect ratio (max: its inverse)", open_lo(0, 1)),
        VG_AUG_KNOB("mixup", mixup_alpha, "mixup Beta alpha (0: off)", closed(0.0, 100.0)),
        VG_AUG_KNOB("cutmix", cutmix_alpha, "cutmix Beta alpha (0: off)", closed(0.0, 100.0)),
        VG_AUG_KNOB("mixup_prob", mix_prob, "probability a batch is mixed", kProb),
        VG_AUG_KNOB("mixup_switch_prob", mix_switch_prob, "probability of cutmix instead of mixup",
                    kProb),
        VG_AUG_KNOB("cutmix_correct_lam", cutmix_correct_lam,
                    "recompute lambda from the clipped box", Flag{}),
        VG_AUG_KNOB("mixup_off_epoch", mixup_off_epoch, "stop mixing from this epoch (0: never)",
                    closed<int64_t>(0, kMaxEpochs)),
        VG_AUG_KNOB("smoothing", label_smoothing, "label smoothing", kProb),
        VG_AUG_KNOB("repeated_aug", repeats,
                    "repeated augmentation count (1: off, 3: DeiT RASampler)", closed(1, 16)),
    };
}

}  // namespace

namespace {
// Text a parser accepts; the parser's error is the problem.
TextRange parsed_text(std::string allowed, std::function<void(const std::string&)> parse) {
    return {std::move(allowed), [parse = std::move(parse)](const std::string& v) {
                try {
                    parse(v);
                    return std::string();
                } catch (const Error& e) {
                    return std::string(e.what());
                }
            }};
}
}  // namespace

TextRange model_kwargs_text() {
    return parsed_text("key=value,... over the registry entry", [](const std::string& v) {
        models::ModelConfig c;
        models::apply_model_kwargs(c, v);
    });
}

TextRange attn_init_text() {
    return parsed_text(
        "none | impulse3 | impulse5 | impulse_v2 | impulse_ci | "
        "impulse{S}_{r}_{f}_{scale}_{renorm} "
        "| mimetic | mimetic{a}_{b}, options after ':'",
        [](const std::string& v) { parse_attn_init(v); });
}

double TrainConfig::effective_lr() const {
    return lr > 0 ? lr : base_lr * double(batch_size) / double(lr_base_batch);
}

const std::vector<Knob>& train_knobs() {
    static const std::vector<Knob> knobs = make_knobs();
    return knobs;
}

const Knob* find_knob(const std::string& name) {
    std::string k = name.rfind("--", 0) == 0 ? name.substr(2) : name;
    std::replace(k.begin(), k.end(), '-', '_');
    for (const Knob& kb : train_knobs())
        if (kb.name == k) return &kb;
    return nullptr;
}

void set_knob(TrainConfig& c, const std::string& key, const std::string& value,
              const std::string& where) {
    const Knob* k = find_knob(key);
    if (!k) {
        bool flag = key.rfind("--", 0) == 0;
        std::vector<std::string> names;
        for (const Knob& kb : train_knobs()) {
            std::string n = kb.name;
            if (flag) std::replace(n.begin(), n.end(), '_', '-');
            names.push_back(flag ? "--" + n : n);
        }
        std::string typed = key;
        if (!flag) std::replace(typed.begin(), typed.end(), '-', '_');
        fail("config", "{}unknown key '{}'{}", where, key, did_you_mean(typed, names));
    }
    std::string bad = k->set(c, value);
    if (!bad.empty()) fail_value("config", where, key, trim_text(value), bad, k->allowed);
}

void check_config(const TrainConfig& c, const std::vector<std::string>& skip) {
    for (const Knob& k : train_knobs()) {
        if (std::find(skip.begin(), skip.end(), k.name) != skip.end()) continue;
        std::string bad = k.problem(c);
        if (!bad.empty()) fail_value("config", "", k.name, k.get(c), bad, k.allowed);
    }
    const AugmentConfig& a = c.augment;
    if (a.erase_min_area > a.erase_max_area)
        fail("config", "erase_min_area = {} is above erase_max_area = {}", a.erase_min_area,
             a.erase_max_area);
    double lr = c.effective_lr();
    if (c.lr == 0 && !kLr.contains(lr))
        fail("config",
             "the derived lr base_lr * batch_size / lr_base_batch = {} * {} / {} = {} is out of "
             "range (allowed: {}); set lr, base_lr or lr_base_batch",
             c.base_lr, c.batch_size, c.lr_base_batch, lr, kLr.describe());
}

void apply_config_text(TrainConfig& c, const std::string& text, const std::string& source) {
    std::string t = trim_text(text);
    if (!t.empty() && t.front() == '{') {
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(t);
        } catch (const std::exception& e) {
            fail("config", "{}: invalid JSON ({})", source, e.what());
        }
        for (auto& [k, v] : j.items())
            set_knob(c, k, v.is_string() ? v.get<std::string>() : v.dump(), source + ": ");
        return;
    }
    std::istringstream in(text);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        size_t hash = line.find('#');
        if (hash != std::string::npos) line = line.substr(0, hash);
        if (trim_text(line).empty()) continue;
        size_t eq = line.find('=');
        if (eq == std::string::npos)
            fail("config", "{}:{}: expected 'key = value', got '{}'", source, n, trim_text(line));
        set_knob(c, trim_text(line.substr(0, eq)), line.substr(eq + 1),
                 fmt::format("{}:{}: ", source, n));
    }
}

void apply_config_file(TrainConfig& c, const std::string& path) {
    constexpr uint64_t kMaxConfigBytes = 1 << 20;  // a recipe is a few hundred bytes
    apply_config_text(c, read_file_bounded("config", path, kMaxConfigBytes), path);
}

std::string config_to_json(const TrainConfig& c) {
    nlohmann::ordered_json j;
    for (const Knob& k : train_knobs()) j[k.name] = k.get(c);
    return j.dump(1);
}

}  // namespace vg
