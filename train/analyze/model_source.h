// Where the `vitgrad analyze` commands (and programs of one's own) take their model and images
// from: a run directory, a checkpoint, a state dict, or a freshly initialised registry model;
// images from a safetensors file or the first test images of a dataset.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/model.h"
#include "nn/module.h"
#include "train/run/config.h"

namespace vg::analyze {

struct ModelSource {
    std::string run_dir;     // uses RUN_DIR/checkpoint.safetensors
    std::string checkpoint;  // a `vitgrad train` checkpoint
    std::string weights;     // a plain state dict (timm names); needs `model`
    std::string model;       // registry name; alone: a freshly initialised model
    bool ema = false;        // the checkpoint's EMA weights
    uint64_t seed = 0;       // initialisation of a fresh model
    std::string device = "cpu";
};

struct LoadedModel {
    std::shared_ptr<models::VisionModel> model;  // in eval mode, on the chosen device
    std::string label;  // e.g. "convit_micro, runs/a/checkpoint.safetensors (epoch 30)"
    std::optional<TrainConfig> run_config;  // the training run's knobs (checkpoints only)
};

// A training run's saved knobs (config.json, or a checkpoint's config) for reading only: a knob
// this binary does not know or whose value it refuses (a newer or older binary's run, a test's
// in-memory dataset) keeps its default and is listed in `ignored` instead of failing the analysis.
struct RunConfig {
    TrainConfig config;
    std::vector<std::string> ignored;  // "key: why"
};
RunConfig read_run_config(const std::string& text, const std::string& source);

// The registry configuration `name` with the classes, input channels and image size that a
// state dict's head, patch embedding and position embedding imply.
models::ModelConfig config_for_weights(const std::string& name, const nn::StateDict& state);

// Exactly one of run_dir, checkpoint, model (with or without weights) must be given.
LoadedModel load_model(const ModelSource& source);

struct ImageSource {
    std::string input;     // safetensors file holding "images" [B, C, H, W], normalised
    std::string dataset;   // else the first test images of this dataset (default: the run's,
                           // or cifar10), normalised as the run was
    std::string data_dir;  // data root (default: the run's, then the usual rule)
    int64_t count = 0;     // images to take (0: the command's default)
};

struct Images {
    Tensor images;            // float32 [B, C, H, W] on the CPU
    std::string description;  // e.g. "the first 256 cifar10 test images"
};

// The "images" tensor [B, C, H, W] (B >= 1) of a safetensors file, as float32.
Tensor read_images_file(const std::string& path);

// Images for `model`; `default_count` applies when source.count is 0. The image size must be
// the model's.
Images load_images(const ImageSource& source, const LoadedModel& model, int64_t default_count);

// Command-line options filling a ModelSource / an ImageSource.
void add_model_options(CLI::App* cmd, ModelSource& source);
void add_image_options(CLI::App* cmd, ImageSource& source, const std::string& count_help);
void add_dataset_options(CLI::App* cmd, ImageSource& source);  // --dataset, --data-dir

}  // namespace vg::analyze
