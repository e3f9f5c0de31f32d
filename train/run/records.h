// Per-epoch training records: JSON (metrics.jsonl lines and the history kept in checkpoints)
// and the SVG plots drawn from them at the end of a run.
#pragma once
#include <string>
#include <vector>

#include "train/run/trainer.h"

namespace vg {

std::string record_to_json(const EpochRecord& r);  // one line
std::string history_to_json(const std::vector<EpochRecord>& h);
// Throws naming the problem when the text is not a history written by history_to_json.
std::vector<EpochRecord> history_from_json(const std::string& text);

// loss.svg (train/test loss), accuracy.svg (test top-1/top-5, EMA top-1) and, when the model has
// GPSA layers, gates.svg (sigmoid(lambda) of every head per epoch, one panel per layer). Returns
// the paths written.
std::vector<std::string> write_plots(const std::string& dir, const std::vector<EpochRecord>& h);

}  // namespace vg
