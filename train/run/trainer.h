// The training loop: forward / loss / backward / clip / step / schedule per step, evaluation
// every epoch, JSON-lines metrics, checkpoints with exact resume, NaN/Inf and signal handling,
// a progress display, and SVG plots at the end.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "models/model.h"
#include "train/augment/augment.h"
#include "train/data/dataset.h"
#include "train/probe/study.h"
#include "train/run/config.h"

namespace vg {

struct EvalResult {
    double loss = 0, top1 = 0, top5 = 0;  // accuracies in percent
    int64_t count = 0;
    std::vector<double> per_class;  // accuracy in percent per class (NaN where a class is absent)
};

// Top-1/top-5/loss/per-class accuracy of `model` (put in eval mode) over `data`, in order, with
// the normalisation statistics `norm` selects.
EvalResult evaluate(models::VisionModel& model, std::shared_ptr<const Dataset> data,
                    NormChoice norm, int64_t batch, Device device, int workers = 1);

// Thrown when the loss becomes NaN or Inf; the message names the step and the epoch.
class DivergedError : public Error {
  public:
    DivergedError(const std::string& msg, int64_t step) : Error(msg), step(step) {}
    int64_t step;
};

struct EpochRecord {
    int64_t epoch = 0;
    double lr = 0, train_loss = 0, seconds = 0, images_per_s = 0;
    EvalResult test;
    double ema_top1 = -1;                    // < 0 when EMA is off
    std::vector<std::vector<double>> gates;  // sigmoid(lambda) per GPSA layer, per head
    // --track-internals: measured after the epoch; the first epoch of a fresh run also holds
    // the measurement before any step (the initialised model).
    std::optional<probe::Study> internals, internals_init;
};

struct TrainSummary {
    double best_top1 = 0, final_top1 = 0, seconds = 0, images_per_s = 0;
    int64_t epochs_done = 0, steps = 0;
    bool stopped_by_signal = false;
};

struct TrainData {
    std::shared_ptr<Dataset> train, test;
};

class Trainer {
  public:
    // Loads the datasets named by the config unless `data` provides them; builds the model from
    // the registry (classes, channels and image size taken from the data); resumes when
    // cfg.resume is set.
    explicit Trainer(TrainConfig cfg, TrainData data = {});
    ~Trainer();

    TrainSummary run();
    models::VisionModel& model() { return *model_; }
    const std::vector<EpochRecord>& history() const { return history_; }
    // The configuration the run follows: the given one with --epochs-scale-with-fraction applied.
    const TrainConfig& config() const { return cfg_; }
    std::string checkpoint_path() const;  // <output_dir>/checkpoint.safetensors

  private:
    struct Impl;
    void save(const std::string& path, int64_t epoch_done, int64_t batch_in_epoch);
    void resume_from(const std::string& path);
    EpochRecord train_epoch(int64_t epoch, int64_t first_batch);
    void write_outputs(const TrainSummary& s) const;
    void plan_subset();
    std::optional<probe::Study> measure_internals();

    TrainConfig given_cfg_;  // as given: what checkpoints and config.json record
    TrainConfig cfg_;
    TrainData data_;
    std::shared_ptr<models::VisionModel> model_;
    std::unique_ptr<Impl> impl_;
    std::string subset_note_;  // how the subset and the scaled epochs came out (printed)
    Tensor internals_images_;  // --track-internals: the fixed test images, normalised
    std::vector<EpochRecord> history_;
    int64_t start_epoch_ = 0, start_batch_ = 0, step_ = 0;
    double best_top1_ = 0;
    bool stopped_ = false;
};

// The `vitgrad train` and `vitgrad eval` entry points (exit codes: 0 ok, 1 error, 2 diverged,
// 130/143 stopped by SIGINT/SIGTERM after saving).
int run_training(const TrainConfig& cfg);
// `use_ema` evaluates the checkpoint's EMA weights instead of the live ones.
int run_eval(const std::string& checkpoint, const TrainConfig& overrides,
             const std::vector<std::string>& overridden, bool use_ema = false);

}  // namespace vg
