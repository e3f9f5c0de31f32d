// The `vitgrad analyze` commands (docs/studies.md): each prints a table (or writes a figure) and
// can write its numbers as JSON. Layers and heads are numbered from 1 in every printed table and
// figure, as in the ConViT paper; JSON arrays and tensor names count blocks from 0.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "train/analyze/model_source.h"

namespace vg::analyze {

struct AnalyzeOptions {
    std::string run_dir;  // `vitgrad analyze RUN_DIR`: the report over a run
    ModelSource model;
    ImageSource images;
    std::string map_input = "activations";  // activations | patch_embed
    std::string json;                       // write the numbers here too
    std::vector<int64_t> layers;            // maps: layers to draw (1-based); empty: all
    std::vector<int64_t> first;             // mask: values of k (first k GPSA layers)
    std::string query;                      // maps: "ROW,COL" of the query patch (0-based)
    std::string output;                     // maps: PNG path
    std::string save_maps;                  // maps: safetensors with the drawn numbers
    int decades = 3;                        // maps: decades of the log colour scale
    int64_t batch = 256;                    // mask: evaluation batch
    int64_t limit_test = 0;                 // mask: first N test images (0: all)
};

// CLI11 wiring of `analyze` and its subcommands; analyze_main runs whichever was given.
CLI::App* add_analyze_command(CLI::App& app, AnalyzeOptions& opts);
int analyze_main(CLI::App* analyze, const AnalyzeOptions& opts);

int nonlocality_command(const AnalyzeOptions& o);
int gates_command(const AnalyzeOptions& o);
int centres_command(const AnalyzeOptions& o);
int maps_command(const AnalyzeOptions& o);
int mask_command(const AnalyzeOptions& o);
int run_report_command(const AnalyzeOptions& o);

// Writes `text` to o.json when set, and says so.
void write_json_output(const AnalyzeOptions& o, const std::string& text);

}  // namespace vg::analyze
