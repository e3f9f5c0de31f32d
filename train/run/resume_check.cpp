// Validation of a checkpoint's metadata against the resuming run's configuration.
#include "train/run/resume_check.h"

#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "train/run/records.h"

namespace vg {

namespace {

// The knobs that fix which images batch k of an epoch holds: resuming mid-epoch needs them equal.
const char* const kOrderKnobs[] = {"dataset", "batch_size", "limit_train", "repeated_aug"};

}  // namespace

ResumePoint check_resume(const Checkpoint& c, const std::string& path, const TrainConfig& cfg,
                         int64_t batches_per_epoch) {
    const char* op = "resume";
    if (c.model_name != cfg.model)
        fail(op, "{} holds a '{}' but the run trains '{}'", path, c.model_name, cfg.model);
    if (c.optim.kind != cfg.optimizer)
        fail(op, "{} holds {} state but the run uses --optimizer {}", path, c.optim.kind,
             cfg.optimizer);
    ResumePoint at;
    uint64_t data_seed = 0;
    try {
        nlohmann::json d = nlohmann::json::parse(c.data_state);
        data_seed = d.at("seed").get<uint64_t>();
        at.epoch = d.at("epoch").get<int64_t>();
        at.batch = d.at("batch").get<int64_t>();
    } catch (const nlohmann::json::exception& e) {
        fail(op, "{}: malformed data-order state ({})", path, e.what());
    }
    if (data_seed != cfg.seed)
        fail(op, "{} was trained with seed {} but the run uses seed {}", path, data_seed, cfg.seed);
    if (c.rng_seed != cfg.seed)
        fail(op, "{}: the generator seed {} is not the run's seed {}", path, c.rng_seed, cfg.seed);
    if (c.epoch < 0 || c.epoch > cfg.epochs)
        fail(op, "{}: {} finished epochs is outside [0, {}] (the run's epochs)", path, c.epoch,
             cfg.epochs);
    if (c.epoch == cfg.epochs)
        fail(op,
             "{} has finished all {} epochs: nothing is left to train (raise --epochs to "
             "train longer)",
             path, cfg.epochs);
    if (at.epoch != c.epoch)
        fail(op, "{}: the data-order state is in epoch {} but {} epochs are finished", path,
             at.epoch, c.epoch);
    if (at.batch < 0 || at.batch >= batches_per_epoch)
        fail(op,
             "{}: the data-order state's next batch {} is outside [0, {}) (batches per epoch "
             "of this run)",
             path, at.batch, batches_per_epoch);
    if (c.step < 0 || c.optim.step != c.step)
        fail(op, "{}: the step count {} and the optimiser's step count {} disagree", path, c.step,
             c.optim.step);

    // A mid-epoch position counts batches of the saving run's epoch order; it only means the same
    // images when the knobs that make that order are unchanged.
    if (at.batch > 0) {
        nlohmann::json saved;
        try {
            saved = nlohmann::json::parse(c.config);
        } catch (const nlohmann::json::exception& e) {
            fail(op, "{}: the saved config is not valid JSON ({})", path, e.what());
        }
        for (const char* name : kOrderKnobs) {
            std::string now = find_knob(name)->get(cfg);
            if (saved.is_object() && saved.contains(name) && saved[name] != now)
                fail(op,
                     "{} stopped inside epoch {} with {} = {}, but the run has {}: a mid-epoch "
                     "resume needs the same {}",
                     path, at.epoch + 1, name, saved[name].dump(), now,
                     fmt::join(kOrderKnobs, ", "));
        }
    }

    try {
        at.history = history_from_json(c.metrics);
    } catch (const Error& e) {
        fail(op, "{}: {}", path, e.what());
    }
    if (int64_t(at.history.size()) != c.epoch)
        fail(op, "{}: the metrics history has {} epochs but {} are finished", path,
             at.history.size(), c.epoch);
    for (size_t i = 0; i < at.history.size(); ++i)
        if (at.history[i].epoch != int64_t(i))
            fail(op, "{}: metrics record {} is for epoch {}", path, i, at.history[i].epoch);
    if (!(c.best_acc >= 0 && c.best_acc <= 100))
        fail(op, "{}: best top-1 {} is outside [0, 100]", path, c.best_acc);
    return at;
}

}  // namespace vg
