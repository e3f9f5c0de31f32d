// Checks a checkpoint's metadata against the run that is about to continue from it, before
// anything is restored: the data position, the epoch and step counts, the metrics history and
// the generator seed must all be ones this run could have written. A checkpoint edited by hand, a
// damaged one or one of another run is refused with what is wrong, never clamped or ignored.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/run/checkpoint.h"
#include "train/run/config.h"
#include "train/run/trainer.h"

namespace vg {

struct ResumePoint {
    int64_t epoch = 0;                 // the epoch to continue in
    int64_t batch = 0;                 // its next batch
    std::vector<EpochRecord> history;  // one record per finished epoch
};

// Throws vg::Error("resume: <path>: ...") naming the field, its value and what the run expects.
// `batches_per_epoch` is this run's (the loader's) count.
ResumePoint check_resume(const Checkpoint& c, const std::string& path, const TrainConfig& cfg,
                         int64_t batches_per_epoch);

}  // namespace vg
