// `vitgrad analyze RUN_DIR`: the figures of ConViT §4 over a training run and a Markdown report
// linking them.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "nn/internals.h"
#include "train/analyze/commands.h"
#include "train/analyze/map_figure.h"
#include "train/data/readable_file.h"
#include "train/run/plot.h"
#include "train/run/records.h"

namespace vg::analyze {

namespace fs = std::filesystem;

constexpr uint64_t kMaxConfigBytes = 1 << 20;  // config.json is a few kilobytes

namespace {

using Study = probe::Study;
using LayerValues = std::vector<double> probe::LayerStudy::*;

// The internals measurements of a history as (x, study): x = 0 before training, epoch + 1 after.
std::vector<std::pair<double, const Study*>> internals_points(const std::vector<EpochRecord>& h) {
    std::vector<std::pair<double, const Study*>> pts;
    for (const EpochRecord& r : h) {
        if (r.internals_init) pts.emplace_back(double(r.epoch), &*r.internals_init);
        if (r.internals) pts.emplace_back(double(r.epoch + 1), &*r.internals);
    }
    return pts;
}

// One panel per layer (only layers where `pick` gives values): a line per head and their mean.
std::vector<Panel> per_layer_panels(
    const std::vector<std::pair<double, const Study*>>& pts,
    const std::function<std::vector<double>(const probe::LayerStudy&)>& pick,
    const std::string& what, const std::string& ylabel, std::optional<double> reference) {
    std::vector<Panel> panels;
    const Study& last = *pts.back().second;
    for (size_t l = 0; l < last.layers.size(); ++l) {
        const size_t heads = pick(last.layers[l]).size();
        if (heads == 0) continue;
        Panel p{fmt::format("layer {} ({}): {}", l + 1, last.layers[l].kind, what),
                "epoch",
                ylabel,
                {}};
        for (size_t k = 0; k < heads; ++k) {
            Series s(fmt::format("head {}", k + 1));
            for (auto& [x, st] : pts) {
                if (l >= st->layers.size()) continue;
                std::vector<double> v = pick(st->layers[l]);
                if (k < v.size()) s.x.push_back(x), s.y.push_back(v[k]);
            }
            p.series.push_back(std::move(s));
        }
        p.series.push_back(head_mean(p.series));
        if (reference && !p.series.front().x.empty()) {
            Series u("uniform map", {p.series.front().x.front(), p.series.front().x.back()},
                     {*reference, *reference});
            u.color = "#888888";
            u.dashed = true;
            u.width = 1.2;
            p.series.push_back(std::move(u));
        }
        panels.push_back(std::move(p));
    }
    return panels;
}

std::string fmt_values(const std::vector<double>& v) {
    std::vector<std::string> parts;
    for (double x : v) parts.push_back(fmt::format("{:.2f}", x));
    return fmt::format("{}", fmt::join(parts, " "));
}

}  // namespace

int run_report_command(const AnalyzeOptions& o) {
    const fs::path dir = o.run_dir;
    if (!fs::is_directory(dir)) fail("analyze", "{} is not a run directory", o.run_dir);
    const std::string config_path = (dir / "config.json").string();
    const RunConfig run =
        read_run_config(read_file_bounded("analyze", config_path, kMaxConfigBytes), config_path);
    const TrainConfig& cfg = run.config;
    std::vector<EpochRecord> h = read_metrics_log((dir / "metrics.jsonl").string());
    if (h.empty()) fail("analyze", "{} holds no finished epoch", (dir / "metrics.jsonl").string());

    std::vector<std::string> written = write_plots(dir.string(), h);
    std::string md = fmt::format("# Internals of the run `{}`\n\n", dir.filename().string());
    md += fmt::format(
        "`{}` on {}{}; {} epochs logged; final test top-1 {:.2f}%.\n\n", cfg.model, cfg.dataset,
        cfg.train_fraction < 1 ? fmt::format(" ({:g}% of each class, subset seed {})",
                                             100 * cfg.train_fraction, cfg.subset_seed)
                               : std::string(),
        h.size(), h.back().test.top1);
    if (!run.ignored.empty())
        md += fmt::format("Knobs of config.json this binary does not read (defaults used): {}.\n\n",
                          fmt::join(run.ignored, "; "));
    md +=
        "Layers and heads are numbered from 1, as in the ConViT paper (layer 1 is `blocks.0`).\n\n";

    auto pts = internals_points(h);
    if (pts.empty()) {
        md +=
            "The run was trained without `--track-internals`, so there is no non-locality per "
            "epoch; the gates below come from the parameters logged every epoch.\n\n";
    } else {
        const Study& last = *pts.back().second;
        const double uniform = nn::uniform_nonlocality(last.grid_side);
        auto nl = per_layer_panels(
            pts, [](const probe::LayerStudy& l) { return l.nonlocality; }, "non-locality",
            "patches", uniform);
        write_text_file((dir / "nonlocality.svg").string(), render_svg(nl, 2));
        written.push_back((dir / "nonlocality.svg").string());
        md += "## Non-locality per layer (ConViT Fig. 5)\n\n![non-locality](nonlocality.svg)\n\n";
        md += fmt::format(
            "Measured on the first {} test images, input {}; x = 0 is the "
            "initialised model. A uniform map gives {:.4f} (dashed).\n\n",
            last.images, probe::map_input_name(last.input), uniform);
        md += "| layer | kind | start | end | end, per head |\n|---|---|---|---|---|\n";
        const Study& first = *pts.front().second;
        for (size_t l = 0; l < last.layers.size(); ++l)
            md += fmt::format("| {} | {} | {:.2f} | {:.2f} | {} |\n", l + 1, last.layers[l].kind,
                              l < first.layers.size() ? first.layers[l].mean_nonlocality() : 0.0,
                              last.layers[l].mean_nonlocality(),
                              fmt_values(last.layers[l].nonlocality));
        md += "\n";
        auto centres = per_layer_panels(
            pts,
            [](const probe::LayerStudy& l) {
                std::vector<double> d;
                for (const nn::AttentionCentre& c : l.centres) d.push_back(c.distance);
                return d;
            },
            "attention-centre distance", "patches", std::nullopt);
        if (!centres.empty()) {
            write_text_file((dir / "centres.svg").string(), render_svg(centres, 2));
            written.push_back((dir / "centres.svg").string());
            md +=
                "## Attention-centre distance of the GPSA heads\n\n![centres](centres.svg)\n\n"
                "From W_pos (reference main.py); a head whose w_d is not negative has no "
                "centre and is left out.\n\n";
        }
    }
    if (!h.back().gates.empty()) {
        md +=
            "## Gates σ(λ) (ConViT Fig. 6)\n\n![gates](gates.svg)\n\n"
            "1 = positional attention only, 0 = content only; the mean over heads in black.\n\n"
            "| layer | σ(λ) per head, last epoch |\n|---|---|\n";
        for (size_t l = 0; l < h.back().gates.size(); ++l)
            md += fmt::format("| {} | {} |\n", l + 1, fmt_values(h.back().gates[l]));
        md += "\n";
    }

    // Maps of the last checkpoint (needs the dataset's test images).
    const fs::path ckpt = dir / "checkpoint.safetensors";
    if (fs::exists(ckpt)) {
        try {
            ModelSource src;
            src.run_dir = dir.string();
            LoadedModel m = load_model(src);
            const probe::MapProvider& provider = probe::map_provider(*m.model);
            Images im = load_images(o.images, m, provider.figure_images(*m.model));
            MapFigure fig = query_maps(*m.model, im.images, {}, -1);
            const int64_t S = fig.side;
            fig.title = "attention maps of " + m.label;
            fig.subtitle = fmt::format("query patch (row {}, col {}) framed in red; {}",
                                       fig.query / S, fig.query % S, im.description);
            save_png(render_map_figure(fig), (dir / "maps.png").string());
            save_map_tensors(fig, (dir / "maps.safetensors").string());
            written.push_back((dir / "maps.png").string());
            md += fmt::format(
                "## Attention maps of the last checkpoint (ConViT Fig. 7)\n\n![maps](maps.png)\n\n"
                "{}. The numbers are in `maps.safetensors`.\n\n",
                fig.subtitle);
        } catch (const Error& e) {
            md += fmt::format("## Attention maps\n\nNot drawn: {}\n\n", e.what());
            fmt::print("maps not drawn: {}\n", e.what());
        }
    }
    write_text_file((dir / "report.md").string(), md);
    written.push_back((dir / "report.md").string());
    fmt::print("wrote {}\n", fmt::join(written, ", "));
    return 0;
}

}  // namespace vg::analyze
