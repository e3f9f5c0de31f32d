// `vitgrad analyze nonlocality | gates | centres | maps`.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <nlohmann/json.hpp>

#include "nn/internals.h"
#include "train/analyze/commands.h"
#include "train/analyze/map_figure.h"
#include "train/probe/study.h"
#include "train/run/plot.h"

namespace vg::analyze {

using Json = nlohmann::ordered_json;

namespace {

// One row per layer: "layer  kind  head 1 .. head H  mean".
void print_head_table(const std::vector<std::pair<int64_t, const probe::LayerStudy*>>& rows,
                      std::vector<double> probe::LayerStudy::*values, const char* fmt_spec) {
    size_t heads = 0, kind_width = 5;  // "kind" and a space, as wide as "GPSA" and "MHSA" need
    for (auto& [b, l] : rows) {
        heads = std::max(heads, (l->*values).size());
        kind_width = std::max(kind_width, l->kind.size());
    }
    std::string head = fmt::format("layer  {:<{}}", "kind", kind_width);
    for (size_t h = 0; h < heads; ++h) head += fmt::format(" {:>7}", fmt::format("head {}", h + 1));
    fmt::print("{}     mean\n", head);
    for (auto& [b, l] : rows) {
        const std::vector<double>& v = l->*values;
        std::string line = fmt::format("{:>5}  {:<{}}", b + 1, l->kind, kind_width);
        double sum = 0;
        for (double x : v) {
            line += fmt::format(" {:>7}", fmt::format(fmt::runtime(fmt_spec), x));
            sum += x;
        }
        line += std::string(8 * (heads - v.size()), ' ');
        fmt::print("{} {:>8}\n", line,
                   fmt::format(fmt::runtime(fmt_spec), v.empty() ? 0.0 : sum / double(v.size())));
    }
}

std::pair<int64_t, int64_t> parse_query(const std::string& text, int64_t side) {
    int64_t r = 0, c = 0;
    char comma = 0, extra = 0;
    if (std::sscanf(text.c_str(), "%ld %c %ld %c", &r, &comma, &c, &extra) != 3 || comma != ',')
        fail("analyze maps", "--query takes ROW,COL, got '{}'", text);
    if (r < 0 || c < 0 || r >= side || c >= side)
        fail("analyze maps", "--query {},{} is outside the {} x {} patch grid", r, c, side, side);
    return {r, c};
}

}  // namespace

void write_json_output(const AnalyzeOptions& o, const std::string& text) {
    if (o.json.empty()) return;
    write_text_file(o.json, text + "\n");
    fmt::print("wrote {}\n", o.json);
}

int nonlocality_command(const AnalyzeOptions& o) {
    LoadedModel m = load_model(o.model);
    Images im = load_images(o.images, m, 1024);
    const probe::MapInput input = probe::parse_map_input(o.map_input);
    probe::Study s = probe::study(*m.model, im.images, input);
    const int64_t side = nn::grid_side(m.model->config().num_patches(), "nonlocality");
    fmt::print(
        "non-locality (ConViT Eq. 8: mean distance in patches between a query and where it "
        "attends) of {}\n",
        m.label);
    fmt::print("on {}, input {}; a uniform map gives {:.4f} on this {} x {} grid\n\n",
               im.description, probe::map_input_name(input), nn::uniform_nonlocality(side), side,
               side);
    std::vector<std::pair<int64_t, const probe::LayerStudy*>> rows;
    for (size_t i = 0; i < s.layers.size(); ++i) rows.emplace_back(int64_t(i), &s.layers[i]);
    print_head_table(rows, &probe::LayerStudy::nonlocality, "{:.3f}");
    // Layers on their own grids (FCViT's stages): the uniform value of each.
    std::map<int64_t, std::vector<int64_t>> by_side;
    for (auto& [b, l] : rows)
        if (l->grid_side > 0) by_side[l->grid_side].push_back(b + 1);
    for (auto& [grid, layers] : by_side)
        fmt::print("layers {} are on a {} x {} grid: a uniform map gives {:.4f}\n",
                   fmt::join(layers, ", "), grid, grid, nn::uniform_nonlocality(grid));
    std::vector<std::pair<int64_t, const probe::LayerStudy*>> refined;
    for (auto& [b, l] : rows)
        if (!l->refined_nonlocality.empty()) refined.emplace_back(b, l);
    if (!refined.empty()) {
        fmt::print("\nrefined maps (Refiner; |A|-weighted, as they are not distributions)\n\n");
        print_head_table(refined, &probe::LayerStudy::refined_nonlocality, "{:.3f}");
    }
    Json j = probe::to_json(s);
    j["model"] = m.label;
    j["uniform"] = nn::uniform_nonlocality(side);
    write_json_output(o, j.dump(1));
    return 0;
}

int gates_command(const AnalyzeOptions& o) {
    LoadedModel m = load_model(o.model);
    auto gated = probe::gated_layers(*m.model);
    fmt::print("gates sigmoid(lambda) of {}: 1 = positional attention only, 0 = content only\n\n",
               m.label);
    if (gated.empty()) {
        fmt::print("the model has no gated (GPSA) layers\n");
    } else {
        std::vector<std::pair<int64_t, const probe::LayerStudy*>> rows;
        for (auto& [b, l] : gated) rows.emplace_back(b, &l);
        print_head_table(rows, &probe::LayerStudy::gate, "{:.3f}");
    }
    Json layers = Json::array();
    for (auto& [b, l] : gated) layers.push_back({{"block", b}, {"gate", l.gate}});
    write_json_output(o, Json{{"model", m.label}, {"layers", layers}}.dump(1));
    return 0;
}

int centres_command(const AnalyzeOptions& o) {
    LoadedModel m = load_model(o.model);
    auto gated = probe::gated_layers(*m.model);
    fmt::print(
        "attention centres of {} from W_pos (reference main.py): offset (dx, dy) of the "
        "centre from the query in patches, its distance, and alpha = -w_d\n\n",
        m.label);
    if (gated.empty())
        fmt::print("the model has no GPSA layers\n");
    else
        fmt::print("layer  head       dx       dy  distance     alpha\n");
    Json layers = Json::array();
    for (auto& [b, l] : gated) {
        Json heads = Json::array();
        for (size_t h = 0; h < l.centres.size(); ++h) {
            const nn::AttentionCentre& c = l.centres[h];
            if (c.defined)
                fmt::print("{:>5}  {:>4}  {:>7.3f}  {:>7.3f}  {:>8.3f}  {:>8.3f}\n", b + 1, h + 1,
                           c.dx, c.dy, c.distance, c.alpha);
            else
                fmt::print(
                    "{:>5}  {:>4}  no centre (w_d >= 0: attention does not decay with "
                    "distance)\n",
                    b + 1, h + 1);
            heads.push_back(
                c.defined
                    ? Json{{"dx", c.dx}, {"dy", c.dy}, {"distance", c.distance}, {"alpha", c.alpha}}
                    : Json(nullptr));
        }
        layers.push_back({{"block", b}, {"heads", heads}});
    }
    write_json_output(o, Json{{"model", m.label}, {"layers", layers}}.dump(1));
    return 0;
}

int maps_command(const AnalyzeOptions& o) {
    LoadedModel m = load_model(o.model);
    const probe::MapProvider& provider = probe::map_provider(*m.model);
    const int64_t side = nn::grid_side(m.model->config().num_patches(), "analyze maps");
    int64_t query = centre_query(side);
    if (!o.query.empty()) {
        auto [r, c] = parse_query(o.query, side);
        query = r * side + c;
    }
    Images im = load_images(o.images, m, provider.figure_images(*m.model));
    std::vector<int64_t> blocks;
    for (int64_t l : o.layers) blocks.push_back(l - 1);
    const probe::MapInput input = probe::parse_map_input(o.map_input);
    MapFigure fig = query_maps(*m.model, im.images, blocks, query, input);
    fig.title = "attention maps of " + m.label;
    fig.subtitle = fmt::format(
        "query patch (row {}, col {}) of the {} x {} grid, framed in red; {}; "
        "input {}",
        query / side, query % side, side, side, im.description, probe::map_input_name(input));
    if (!fig.layers.empty() && fig.layers.front().query_independent) {
        fig.title = "global-context similarity of " + m.label +
                    ": |mean s-hat| over the images, groups as heads";
        fig.subtitle =
            fmt::format("the same map for every query, on each stage's grid; {}", im.description);
    }
    const std::string out = o.output.empty() ? "maps.png" : o.output;
    save_png(render_map_figure(fig, o.decades), out);
    fmt::print("wrote {}: {} layers x {} heads, {}\n", out, fig.layers.size(),
               fig.layers.front().maps.size(), fig.subtitle);
    if (!o.save_maps.empty()) {
        save_map_tensors(fig, o.save_maps);
        fmt::print("wrote {}\n", o.save_maps);
    }
    return 0;
}

}  // namespace vg::analyze
