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
    double loss = 0, top1 = 0, top5 = 0;  // accuracies in percent; loss is NaN when nonfinite > 0
    int64_t count = 0;
    int64_t nonfinite = 0;  // images whose logits held a NaN or an infinity (counted as wrong)
    std::vector<double> per_class;  // accuracy in percent per class (NaN where a class is absent)
    std::vector<int> predicted;     // top-1 class of every image, in dataset order
};

// Top-1/top-5/loss/per-class accuracy of `model` (put in eval mode) over `data`, in order, with
// the normalisation statistics `norm` selects (train/run/evaluate.cpp).
EvalResult evaluate(models::VisionModel& model, std::shared_ptr<const Dataset> data,
                    NormChoice norm, int64_t batch, Device device, int workers = 1);

// Thrown when the training loss, a parameter or the test loss becomes NaN or Inf; the message
// names the step and the epoch, and which checkpoint is the last good one (or that there is none).
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
    // Transfers of training losses to the host: one per log_every steps and one per epoch end,
    // never one per step (each would make the step wait for the device).
    int64_t loss_readbacks = 0;
    bool stopped_by_signal = false;
};

// The run's last line: best and final top-1, epochs, steps, time, images/s; or that no epoch
// finished (nothing to report accuracies of).
std::string summary_line(const TrainSummary& s, const std::string& output_dir);

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
    // Reads the buffered per-step losses back from the device (one transfer) into the epoch's
    // sum; throws DivergedError naming the first non-finite one.
    void read_back_losses();
    // Throws DivergedError when a parameter holds a NaN or an infinity (before any save).
    void check_parameters(int64_t epoch);
    void check_eval(const EvalResult& r, int64_t epoch, const char* which);
    [[noreturn]] void diverged(const std::string& what, int64_t step) const;
    EvalResult evaluate_ema(int64_t eval_batch);
    void open_metrics_log();
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
    std::string last_good_;  // "<path> (epoch e, step s)" of the newest checkpoint of this run
};

// The `vitgrad train` and `vitgrad eval` entry points (exit codes: 0 ok, 1 error, 2 diverged,
// 130/143 stopped by SIGINT/SIGTERM after saving).
int run_training(const TrainConfig& cfg);
// What `vitgrad eval` runs with: the checkpoint's saved config (model, data, normalisation),
// limit_test back at its default (the whole test set), then the knobs named in `overridden`
// taken from `overrides` (what the eval command itself was told).
struct Checkpoint;
TrainConfig eval_config(const Checkpoint& c, const std::string& source,
                        const TrainConfig& overrides, const std::vector<std::string>& overridden);
// `use_ema` evaluates the checkpoint's EMA weights instead of the live ones.
// With `predictions`, writes "index,label,predicted" CSV lines for every test image there.
int run_eval(const std::string& checkpoint, const TrainConfig& overrides,
             const std::vector<std::string>& overridden, bool use_ema = false,
             const std::string& predictions = "");

}  // namespace vg
