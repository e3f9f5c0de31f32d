// `vitgrad analyze`: the command line of the internals-study tools.
#include <fmt/format.h>

#include "train/analyze/commands.h"
#include "train/run/cli_options.h"

namespace vg::analyze {

namespace {

void add_json_option(CLI::App* c, AnalyzeOptions& o) {
    c->add_option("--json", o.json, "also write the numbers to this JSON file");
}

void add_map_input_option(CLI::App* c, AnalyzeOptions& o) {
    add_checked_option(c, "--map-input", o.map_input,
                       "activations: each layer's real input; patch_embed: the reference code's "
                       "logging, the raw patch embeddings fed to every layer",
                       one_of({"activations", "patch_embed"}), "analyze");
}

}  // namespace

CLI::App* add_analyze_command(CLI::App& app, AnalyzeOptions& o) {
    CLI::App* a = app.add_subcommand(
        "analyze",
        "internals-study tools (ConViT §4): `analyze RUN_DIR` reports over a training run; the "
        "subcommands measure one model");
    a->add_option("run_dir", o.run_dir,
                  "a run directory: plots non-locality, gates and attention centres per epoch, "
                  "draws the last checkpoint's maps and writes report.md there");
    add_checked_option(a, "--count", o.images.count,
                       "RUN_DIR: images the maps average (0: 1 for ConViT, 100 for DeiT)",
                       closed<int64_t>(0, 100000), "analyze");
    a->add_option("--data-dir", o.images.data_dir, "RUN_DIR: data root of the maps' test images");
    a->require_subcommand(0, 1);

    CLI::App* nl =
        a->add_subcommand("nonlocality",
                          "per layer and head: the mean distance between a query and where it "
                          "attends (ConViT Eq. 8, patch tokens only)");
    add_model_options(nl, o.model);
    add_image_options(nl, o.images, "images averaged over (0: 1024)");
    add_map_input_option(nl, o);
    add_json_option(nl, o);

    CLI::App* g = a->add_subcommand("gates", "sigmoid(lambda) of every GPSA layer and head");
    add_model_options(g, o.model);
    add_json_option(g, o);

    CLI::App* c = a->add_subcommand(
        "centres", "every GPSA head's attention centre and its distance, from W_pos");
    add_model_options(c, o.model);
    add_json_option(c, o);

    CLI::App* m = a->add_subcommand(
        "maps",
        "PNG grid of each layer's and head's map for the query at the image centre, on a "
        "logarithmic colour scale (ConViT Figs. 7, 15-17)");
    add_model_options(m, o.model);
    add_image_options(m, o.images, "images averaged over (0: 1 for ConViT, 100 for DeiT)");
    add_map_input_option(m, o);
    add_checked_list(m, "--layers", o.layers, "layers to draw, from 1 (none given: all)",
                     closed<int64_t>(1, 1000), "analyze")
        ->delimiter(',');
    m->add_option("--query", o.query, "ROW,COL of the query patch, from 0 (default: the centre)");
    m->add_option("--output", o.output, "PNG file (default: maps.png)");
    m->add_option("--save-maps", o.save_maps, "also write the drawn numbers as safetensors");
    add_checked_option(m, "--decades", o.decades, "decades of the log colour scale", closed(1, 8),
                       "analyze");

    CLI::App* k = a->add_subcommand(
        "mask",
        "test accuracy with the position embedding zeroed and with the content or the "
        "position masked in the first k GPSA layers (ConViT Tables 5 and 6)");
    add_model_options(k, o.model);
    add_dataset_options(k, o.images);
    add_checked_option(k, "--limit-test", o.limit_test, "first N test images (0: all)",
                       closed<int64_t>(0, 1'000'000), "analyze");
    add_checked_option(k, "--batch", o.batch, "evaluation batch", closed<int64_t>(1, 65536),
                       "analyze");
    add_checked_list(k, "--first", o.first,
                     "values of k, masking the first k GPSA layers (none given: 1 to all)",
                     closed<int64_t>(1, 1000), "analyze")
        ->delimiter(',');
    add_json_option(k, o);
    return a;
}

int analyze_main(CLI::App* a, const AnalyzeOptions& o) {
    const std::vector<CLI::App*> subs = a->get_subcommands();
    if (subs.empty()) {
        if (o.run_dir.empty())
            fail("analyze", "give a run directory or a subcommand (vitgrad analyze --help)");
        return run_report_command(o);
    }
    if (!o.run_dir.empty())
        fail("analyze",
             "give either a run directory or a subcommand, not both (use --run DIR "
             "with a subcommand)");
    const std::string name = subs.front()->get_name();
    if (name == "nonlocality") return nonlocality_command(o);
    if (name == "gates") return gates_command(o);
    if (name == "centres") return centres_command(o);
    if (name == "maps") return maps_command(o);
    return mask_command(o);
}

}  // namespace vg::analyze
