// The knob table and config-file parsing for TrainConfig.
#include "train/run/config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace vg {

namespace {

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

template <typename T>
T parse_value(const std::string& key, const std::string& text) {
    std::string s = trim(text);
    try {
        if constexpr (std::is_same_v<T, bool>) {
            if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
            if (s == "false" || s == "0" || s == "no" || s == "off") return false;
            throw std::invalid_argument("not a boolean");
        } else if constexpr (std::is_same_v<T, std::string>) {
            if (s.size() >= 2 && s.front() == '"' && s.back() == '"')
                return s.substr(1, s.size() - 2);
            return s;
        } else {
            size_t used = 0;
            T v;
            if constexpr (std::is_floating_point_v<T>)
                v = T(std::stod(s, &used));
            else if constexpr (std::is_unsigned_v<T>)
                v = T(std::stoull(s, &used));
            else
                v = T(std::stoll(s, &used));
            if (used != s.size()) throw std::invalid_argument("trailing characters");
            return v;
        }
    } catch (const std::exception&) {
        fail("config", "bad value '{}' for '{}'", s, key);
    }
}

template <typename T>
std::string show(const T& v) {
    if constexpr (std::is_same_v<T, bool>)
        return v ? "true" : "false";
    else if constexpr (std::is_same_v<T, std::string>)
        return v;
    else if constexpr (std::is_floating_point_v<T>)
        return fmt::format("{}", v);
    else
        return std::to_string(v);
}

// A knob from an accessor returning a reference to the field.
template <typename Access>
Knob knob(const char* name, const char* help, Access access) {
    using T = std::remove_cvref_t<decltype(access(std::declval<TrainConfig&>()))>;
    Knob k;
    k.name = name;
    k.help = help;
    k.is_bool = std::is_same_v<T, bool>;
    k.type = k.is_bool                     ? "BOOL"
             : std::is_floating_point_v<T> ? "FLOAT"
             : std::is_integral_v<T>       ? "INT"
                                           : "TEXT";
    k.set = [access, n = std::string(name)](TrainConfig& c, const std::string& v) {
        access(c) = parse_value<T>(n, v);
    };
    k.get = [access](const TrainConfig& c) { return show(access(const_cast<TrainConfig&>(c))); };
    return k;
}

// A knob over an enum field of AugmentConfig, by name.
template <typename E>
Knob enum_knob(const char* name, const char* help, E AugmentConfig::*field,
               std::vector<std::pair<std::string, E>> names) {
    Knob k;
    k.name = name;
    k.help = help;
    k.set = [field, names, n = std::string(name)](TrainConfig& c, const std::string& v) {
        std::string s = trim(v);
        if (s.size() >= 2 && s.front() == '"') s = s.substr(1, s.size() - 2);
        for (auto& [text, e] : names)
            if (text == s) {
                c.augment.*field = e;
                return;
            }
        std::string expected;
        for (auto& [text, e] : names) expected += (expected.empty() ? "" : " | ") + text;
        fail("config", "bad value '{}' for '{}' (expected {})", s, n, expected);
    };
    k.get = [field, names](const TrainConfig& c) {
        for (auto& [text, e] : names)
            if (e == c.augment.*field) return text;
        return std::string("?");
    };
    return k;
}

#define VG_KNOB(field, help) \
    knob(                    \
        #field, help, [](TrainConfig & c) -> auto& { return c.field; })
#define VG_AUG_KNOB(name, field, help) \
    knob(                              \
        name, help, [](TrainConfig & c) -> auto& { return c.augment.field; })

std::vector<Knob> make_knobs() {
    return {
        VG_KNOB(model, "model name from the registry"),
        VG_KNOB(dataset, "cifar10 | cifar100 | fashion_mnist"),
        VG_KNOB(data_dir, "data root (default: $VITGRAD_DATA, then ../shared/data)"),
        VG_KNOB(output_dir, "run directory: metrics, checkpoints, plots"),
        VG_KNOB(device, "cpu | cuda | cuda:N"),
        VG_KNOB(threads, "OpenMP threads (0: default)"),
        VG_KNOB(workers, "background threads building batches (0: synchronous)"),
        VG_KNOB(seed, "seed of init, dropout, data order and augmentation"),
        VG_KNOB(limit_train, "use only the first N training images (0: all)"),
        VG_KNOB(limit_test, "use only the first N test images (0: all)"),
        VG_KNOB(model_kwargs, "model overrides key=value,... (e.g. weight_init=skip,pool=avg)"),
        VG_KNOB(attn_init,
                "impulse3 | impulse5 | impulse_v2 | impulse_ci | mimetic (docs/models.md)"),
        VG_KNOB(attn_init_cache, "directory caching the impulse Adam solves (empty: off)"),
        VG_KNOB(epochs, "training epochs"),
        VG_KNOB(batch_size, "training batch size"),
        VG_KNOB(eval_batch_size, "evaluation batch size (0: batch_size)"),
        VG_KNOB(optimizer, "adamw | sgd"),
        VG_KNOB(lr, "peak lr (0: base_lr * batch_size / lr_base_batch)"),
        VG_KNOB(base_lr, "lr per lr_base_batch images (linear scaling rule)"),
        VG_KNOB(lr_base_batch, "batch size base_lr refers to"),
        VG_KNOB(weight_decay,
                "decoupled weight decay (not on 1-D, biases, pos_embed, cls/dist token)"),
        VG_KNOB(beta1, "AdamW beta1"),
        VG_KNOB(beta2, "AdamW beta2"),
        VG_KNOB(opt_eps, "AdamW eps"),
        VG_KNOB(momentum, "SGD momentum"),
        VG_KNOB(nesterov, "SGD nesterov momentum"),
        VG_KNOB(clip_grad, "global gradient-norm clip (0: off)"),
        VG_KNOB(warmup_epochs, "linear warm-up epochs"),
        VG_KNOB(warmup_lr, "lr at the start of warm-up"),
        VG_KNOB(min_lr, "floor of the cosine"),
        VG_KNOB(sched_per_step, "update the lr every step instead of every epoch"),
        VG_KNOB(drop_path, "stochastic depth rate (linear over depth)"),
        VG_KNOB(dropout, "dropout rate"),
        VG_KNOB(ema, "keep an EMA of the weights and evaluate it too"),
        VG_KNOB(ema_decay, "EMA decay per step"),
        VG_KNOB(log_every, "steps between progress lines when not on a terminal"),
        VG_KNOB(quiet, "print only the final summary line"),
        VG_KNOB(checkpoint_every, "epochs between checkpoints"),
        VG_KNOB(resume, "checkpoint to resume from"),
        VG_KNOB(stop_after,
                "save and stop after this many epochs of this invocation (0: run to the end)"),
        VG_AUG_KNOB("crop_padding", crop_padding, "zero padding before the random crop (0: off)"),
        VG_AUG_KNOB("hflip", hflip_prob, "horizontal flip probability"),
        VG_AUG_KNOB("randaugment", randaugment, "RandAugment on/off"),
        VG_AUG_KNOB("ra_num_ops", ra_num_ops, "RandAugment ops per image"),
        VG_AUG_KNOB("ra_magnitude", ra_magnitude, "RandAugment magnitude (0..10)"),
        VG_AUG_KNOB("ra_magnitude_std", ra_magnitude_std, "RandAugment magnitude std"),
        VG_AUG_KNOB("ra_increasing", ra_increasing, "RandAugment 'increasing' op variants"),
        VG_AUG_KNOB("ra_op_prob", ra_op_prob, "probability of applying each drawn op"),
        VG_AUG_KNOB("ra_translate_pct", ra_translate_pct, "max translation, fraction of the side"),
        enum_knob("ra_interp", "nearest | bilinear | bicubic", &AugmentConfig::ra_interp,
                  {{"nearest", Interp::Nearest},
                   {"bilinear", Interp::Bilinear},
                   {"bicubic", Interp::Bicubic}}),
        enum_knob("norm", "input statistics: dataset | imagenet", &AugmentConfig::norm,
                  {{"dataset", NormChoice::Dataset}, {"imagenet", NormChoice::ImageNet}}),
        VG_AUG_KNOB("reprob", erase_prob, "random erasing probability"),
        enum_knob(
            "remode", "random erasing fill: const | rand | pixel", &AugmentConfig::erase_mode,
            {{"const", EraseMode::Const}, {"rand", EraseMode::Rand}, {"pixel", EraseMode::Pixel}}),
        VG_AUG_KNOB("recount", erase_count, "random erasing boxes"),
        VG_AUG_KNOB("erase_min_area", erase_min_area, "random erasing min area fraction"),
        VG_AUG_KNOB("erase_max_area", erase_max_area, "random erasing max area fraction"),
        VG_AUG_KNOB("erase_min_aspect", erase_min_aspect, "random erasing min aspect ratio"),
        VG_AUG_KNOB("mixup", mixup_alpha, "mixup Beta alpha (0: off)"),
        VG_AUG_KNOB("cutmix", cutmix_alpha, "cutmix Beta alpha (0: off)"),
        VG_AUG_KNOB("mixup_prob", mix_prob, "probability a batch is mixed"),
        VG_AUG_KNOB("mixup_switch_prob", mix_switch_prob, "probability of cutmix instead of mixup"),
        VG_AUG_KNOB("cutmix_correct_lam", cutmix_correct_lam,
                    "recompute lambda from the clipped box"),
        VG_AUG_KNOB("mixup_off_epoch", mixup_off_epoch, "stop mixing from this epoch (0: never)"),
        VG_AUG_KNOB("smoothing", label_smoothing, "label smoothing"),
        VG_AUG_KNOB("repeated_aug", repeats,
                    "repeated augmentation count (1: off, 3: DeiT RASampler)"),
    };
}

}  // namespace

double TrainConfig::effective_lr() const {
    return lr > 0 ? lr : base_lr * double(batch_size) / double(lr_base_batch);
}

const std::vector<Knob>& train_knobs() {
    static const std::vector<Knob> knobs = make_knobs();
    return knobs;
}

void set_knob(TrainConfig& c, const std::string& key, const std::string& value) {
    std::string k = key;
    for (char& ch : k)
        if (ch == '-') ch = '_';
    for (const Knob& kb : train_knobs())
        if (kb.name == k) return kb.set(c, value);
    std::string near;
    for (const Knob& kb : train_knobs())
        if (kb.name.find(k.substr(0, 3)) != std::string::npos)
            near += (near.empty() ? "" : ", ") + kb.name;
    fail("config", "unknown key '{}'{}", key,
         near.empty() ? "" : " (did you mean one of: " + near + ")");
}

void apply_config_text(TrainConfig& c, const std::string& text, const std::string& source) {
    std::string t = trim(text);
    if (!t.empty() && t.front() == '{') {
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(t);
        } catch (const std::exception& e) {
            fail("config", "{}: invalid JSON ({})", source, e.what());
        }
        for (auto& [k, v] : j.items())
            set_knob(c, k, v.is_string() ? v.get<std::string>() : v.dump());
        return;
    }
    std::istringstream in(text);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        size_t hash = line.find('#');
        if (hash != std::string::npos) line = line.substr(0, hash);
        if (trim(line).empty()) continue;
        size_t eq = line.find('=');
        if (eq == std::string::npos)
            fail("config", "{}:{}: expected 'key = value', got '{}'", source, n, trim(line));
        try {
            set_knob(c, trim(line.substr(0, eq)), line.substr(eq + 1));
        } catch (const Error& e) {
            fail("config", "{}:{}: {}", source, n, e.what());
        }
    }
}

void apply_config_file(TrainConfig& c, const std::string& path) {
    std::ifstream f(path);
    if (!f) fail("config", "cannot read config file {}", path);
    std::stringstream ss;
    ss << f.rdbuf();
    apply_config_text(c, ss.str(), path);
}

std::string config_to_json(const TrainConfig& c) {
    nlohmann::ordered_json j;
    for (const Knob& k : train_knobs()) j[k.name] = k.get(c);
    return j.dump(1);
}

}  // namespace vg
