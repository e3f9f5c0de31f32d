// TrainConfig: every recipe knob, with the DeiT/ConViT recipe (DeiT paper Table 9,
// facebookresearch/deit main.py) at native 32x32 with CCT's CIFAR crop and statistics as defaults,
// plus a knob table so a config file (`key = value` lines or JSON), the CLI and checkpoints all
// set and read the same names, each knob with the range of values it accepts.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "train/augment/augment.h"

namespace vg {

struct TrainConfig {
    // what to train
    std::string model = "convit_cifar_tiny";
    std::string dataset = "cifar10";  // cifar10 | cifar100 | fashion_mnist
    std::string data_dir;             // empty: train/data/data_paths.h resolution rule
    std::string output_dir = "runs/latest";
    std::string device = "cpu";  // cpu | cuda | cuda:N
    int threads = 0;             // OpenMP threads; 0 keeps the default
    int workers = 2;             // background batch-building threads (0: synchronous)
    uint64_t seed = 0;
    int64_t limit_train = 0, limit_test = 0;  // > 0: first N images only (smoke runs)
    std::string model_kwargs;  // "key=value,..." over the registry entry (models/registry.h)
    std::string attn_init;     // structured attention init (train/init/attn_init.h); "" = none
    std::string attn_init_cache = "runs/attn_init_cache";  // Adam-solve cache ("" = off)

    // length and batch
    int64_t epochs = 300;
    int64_t batch_size = 256;
    int64_t eval_batch_size = 0;  // 0: same as batch_size

    // optimiser (AdamW; SGD as an option)
    std::string optimizer = "adamw";  // adamw | sgd
    double lr = 0;  // 0: base_lr * batch_size / lr_base_batch (DeiT's linear rule)
    double base_lr = 5e-4;
    int64_t lr_base_batch = 512;
    double weight_decay = 0.05;
    double beta1 = 0.9, beta2 = 0.999, opt_eps = 1e-8;
    double momentum = 0.9;  // SGD
    bool nesterov = false;  // SGD
    double clip_grad = 0;   // global-norm clipping; 0: off

    // schedule (timm cosine)
    double warmup_epochs = 5, warmup_lr = 1e-6, min_lr = 1e-5;
    bool sched_per_step = false;  // false: stepped per epoch with timm's offset

    // regularisation
    double drop_path = 0.1, dropout = 0.0;
    bool ema = false;
    double ema_decay = 0.99996;

    // augmentation, mixup/cutmix and label smoothing (train/augment/augment.h)
    AugmentConfig augment;

    // sample-efficiency subsets and internals tracking (docs/studies.md)
    double train_fraction = 1.0;  // (0, 1]: class-balanced subset of the training set
    uint64_t subset_seed = 0;     // which subset; independent of `seed` (init, order, augmentation)
    bool epochs_scale_with_fraction = false;  // as many optimiser steps as the full set would take
    bool track_internals = false;             // per-epoch non-locality, gates, attention centres
    int64_t internals_images = 1024;          // first N test images they are measured on
    std::string internals_input = "activations";  // activations | patch_embed

    // logging and checkpoints
    int64_t log_every = 20;        // steps between plain progress lines (not on a terminal)
    bool quiet = false;            // print only the final summary line
    int64_t checkpoint_every = 1;  // epochs
    std::string resume;            // checkpoint to resume from
    int64_t stop_after = 0;        // > 0: save and stop after this many epochs in this invocation

    // The lr actually used: `lr` when set, else the linear scaling rule.
    double effective_lr() const;
};

// One knob: its name in config files and on the CLI (--name with '_' -> '-'), a help line, the
// values it accepts (`allowed`, also shown by --help), and text conversions. Every knob has a
// range; `set` and `problem` report what is wrong instead of throwing, so that set_knob and
// check_config word every error the same way.
struct Knob {
    std::string name, help, allowed;
    bool is_bool = false;
    std::string type = "TEXT";  // FLOAT, INT, BOOL or TEXT (help output)
    // Parses and range-checks `text` into the field; returns "" or what is wrong with the text.
    std::function<std::string(TrainConfig&, const std::string&)> set;
    std::function<std::string(const TrainConfig&)> get;
    // "" when the field's current value is inside the knob's range, else what is wrong.
    std::function<std::string(const TrainConfig&)> problem;
};
const std::vector<Knob>& train_knobs();

// The values the model knobs accept (train/run/knob_values.h), shared with `vitgrad inspect`:
// model_kwargs as models::apply_model_kwargs reads it, attn_init as parse_attn_init does.
struct TextRange;
TextRange model_kwargs_text();
TextRange attn_init_text();
const Knob* find_knob(const std::string& name);  // '-' and '_' alike; nullptr when unknown

// Sets one knob. `key` is a config name (`batch_size`), the CLI spelling (`--batch-size`) or
// `batch-size`; `where` prefixes errors ("recipe.cfg:3: "). Unknown keys, bad text and values
// outside the range throw vg::Error("config: ...") naming the key, the value and the range.
void set_knob(TrainConfig& c, const std::string& key, const std::string& value,
              const std::string& where = "");
// Every knob inside its range, and the constraints between knobs (erase areas, the derived lr).
// Knobs named in `skip` are not checked (a Trainer given its datasets ignores `dataset`).
void check_config(const TrainConfig& c, const std::vector<std::string>& skip = {});
// Reads a config file: JSON object ({"lr": 1e-3, ...}) or `key = value` lines with # comments.
void apply_config_file(TrainConfig& c, const std::string& path);
void apply_config_text(TrainConfig& c, const std::string& text, const std::string& source);
// All knobs as a JSON object (checkpoints, the run directory's config.json).
std::string config_to_json(const TrainConfig& c);

}  // namespace vg
