// Per-epoch training records: JSON (metrics.jsonl lines and the history kept in checkpoints)
// and the SVG plots drawn from them at the end of a run.
#pragma once
#include <string>
#include <vector>

#include "train/run/plot.h"
#include "train/run/trainer.h"

namespace vg {

std::string record_to_json(const EpochRecord& r);  // one line
std::string history_to_json(const std::vector<EpochRecord>& h);
// Throws naming the problem when the text is not a history written by history_to_json.
std::vector<EpochRecord> history_from_json(const std::string& text);
// The records of a metrics.jsonl file, one per non-empty line; errors name the file and line.
std::vector<EpochRecord> read_metrics_log(const std::string& path);

// The mean of series sampled at the same x, drawn thick and black: the head mean of ConViT's
// gate and non-locality figures. Empty when the series' x differ.
Series head_mean(const std::vector<Series>& heads);

// loss.svg (train/test loss), accuracy.svg (test top-1/top-5, EMA top-1) and, when the model has
// GPSA layers, gates.svg (sigmoid(lambda) of every head per epoch and their mean in black, one
// panel per layer, as ConViT's Fig. 6). Returns the paths written.
std::vector<std::string> write_plots(const std::string& dir, const std::vector<EpochRecord>& h);

}  // namespace vg
