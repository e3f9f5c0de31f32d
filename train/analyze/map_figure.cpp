// Query maps and their figure.
#include "train/analyze/map_figure.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/safetensors.h"
#include "nn/internals.h"
#include "train/analyze/colormap.h"

namespace vg::analyze {

namespace {

const Rgb kBlack{0, 0, 0}, kGrey{90, 90, 90}, kQueryFrame{255, 40, 40};

std::vector<double> to_doubles(const Tensor& t) {
    return t.detach().cpu().to(DType::F64).contiguous().to_vector();
}

void add_into(std::vector<double>& acc, const std::vector<double>& v) {
    if (acc.empty()) acc.assign(v.size(), 0.0);
    for (size_t i = 0; i < v.size(); ++i) acc[i] += v[i];
}

}  // namespace

int64_t centre_query(int64_t side) { return (side / 2) * side + side / 2; }

MapFigure query_maps(models::VisionModel& model, const Tensor& images,
                     const std::vector<int64_t>& blocks, int64_t query, probe::MapInput input) {
    if (images.dim() != 4 || images.size(0) == 0)
        fail("query_maps", "expected images [B, C, H, W] with B >= 1, got {}", images.desc());
    for (int64_t b : blocks)
        if (b < 0) fail("query_maps", "block {} is negative", b);
    const int64_t N = model.config().num_patches(), S = nn::grid_side(N, "query_maps");
    if (query < 0) query = centre_query(S);
    if (query >= N) fail("query_maps", "query token {} out of range [0, {})", query, N);

    const probe::MapProvider& provider = probe::map_provider(model);
    probe::EvalScope eval(model);
    NoGradGuard no_grad;
    const Device device = probe::model_device(model);
    const int64_t B = images.size(0), chunk = 50;
    MapFigure fig;
    fig.side = S;
    fig.query = query;
    fig.images = B;
    // The query's row of every head, summed over a chunk's images: [H] vectors of the layer's
    // N. A layer on a coarser grid (FCViT's later stages) reads the row of the position that
    // covers the query's patch.
    auto add_rows = [&](std::vector<std::vector<double>>& acc, const Tensor& maps) {
        const int64_t H = maps.size(1), Nl = maps.size(-1);
        const int64_t Sl = nn::grid_side(Nl, "query_maps");
        const int64_t q = (query / S) * Sl / S * Sl + (query % S) * Sl / S;
        std::vector<double> rows = to_doubles(sum(maps.select(2, q), {0}));  // [H, Nl]
        acc.resize(size_t(H));
        for (int64_t h = 0; h < H; ++h)
            add_into(acc[size_t(h)],
                     std::vector<double>(rows.begin() + h * Nl, rows.begin() + (h + 1) * Nl));
    };
    for (int64_t start = 0; start < B; start += chunk) {
        const int64_t b = std::min(chunk, B - start);
        std::vector<probe::LayerMaps> maps =
            provider.layer_maps(model, images.narrow(0, start, b).to(device), input);
        if (start == 0) {
            const int64_t L = int64_t(maps.size());
            std::vector<int64_t> chosen = blocks;
            if (chosen.empty())
                for (int64_t i = 0; i < L; ++i) chosen.push_back(i);
            for (int64_t i : chosen) {
                if (i >= L) fail("query_maps", "block {} out of range [0, {})", i, L);
                const probe::LayerMaps& lm = maps[size_t(i)];
                FigureLayer l;
                l.block = i;
                l.kind = lm.kind;
                if (lm.gate.defined()) l.gate = to_doubles(lm.gate);
                const int64_t side = nn::grid_side(lm.maps.size(-1), "query_maps");
                if (side != S) l.side = side;
                l.query_independent = lm.query_independent;
                fig.layers.push_back(l);
                if (lm.refined.defined()) {
                    l.refined = true;
                    l.gate.clear();
                    fig.layers.push_back(l);
                }
            }
        }
        for (FigureLayer& out : fig.layers) {
            const probe::LayerMaps& lm = maps[size_t(out.block)];
            add_rows(out.maps, out.refined ? lm.refined : lm.maps);
            if (!out.refined && lm.other_mass.defined())
                add_into(out.other_mass, to_doubles(sum(lm.other_mass.select(2, query), {0})));
        }
    }
    for (FigureLayer& l : fig.layers) {
        for (auto& m : l.maps)
            for (double& v : m) v /= double(B);
        for (double& v : l.other_mass) v /= double(B);
    }
    return fig;
}

Canvas render_map_figure(const MapFigure& fig, int decades) {
    if (fig.layers.empty()) fail("render_map_figure", "no layers to draw");
    const int S = int(fig.side);
    size_t heads = 0;
    double vmax = 0, vmin = HUGE_VAL;
    for (const FigureLayer& l : fig.layers) {
        heads = std::max(heads, l.maps.size());
        for (const auto& m : l.maps)
            for (double v : m) {
                vmax = std::max(vmax, std::abs(v));
                if (std::abs(v) > 0) vmin = std::min(vmin, std::abs(v));
            }
    }
    const LogScale scale = LogScale::fitted(vmin, vmax > 0 ? vmax : 1.0, decades);
    const int line = Canvas::line_height(), bold = Canvas::line_height(Font::Bold);
    const int margin = 16, ppx = std::max(4, (128 + S - 1) / S), cell = ppx * S;
    const int label_w = 96, gap_x = 14, note_h = line + 10;
    const int top = margin + bold + line + 14 + line;  // title, subtitle, gap, head labels
    const int grid_w = int(heads) * (cell + gap_x), row_h = cell + note_h;
    const int bar_x = margin + label_w + grid_w + 10, bar_w = 18;
    const int bar_h = std::max(cell, std::min(int(fig.layers.size()) * row_h - note_h, 300));
    int width = bar_x + bar_w + 8 + Canvas::text_width("0.0001") + margin;
    width = std::max({width, margin * 2 + Canvas::text_width(fig.title, Font::Bold),
                      margin * 2 + Canvas::text_width(fig.subtitle)});
    const int height = top + int(fig.layers.size()) * row_h + margin;
    Canvas c(width, height);

    c.text(margin, margin, fig.title, kBlack, Font::Bold);
    c.text(margin, margin + bold, fig.subtitle, kGrey);
    for (size_t h = 0; h < heads; ++h)
        c.text(margin + label_w + int(h) * (cell + gap_x) + cell / 2, top - line,
               fmt::format("head {}", h + 1), kBlack, Font::Regular, Align::Centre);
    const int qr = int(fig.query) / S, qc = int(fig.query) % S;
    for (size_t r = 0; r < fig.layers.size(); ++r) {
        const FigureLayer& l = fig.layers[r];
        const int y0 = top + int(r) * row_h;
        c.text(margin, y0 + cell / 2 - line, fmt::format("layer {}", l.block + 1), kBlack,
               Font::Bold);
        c.text(margin, y0 + cell / 2 + 2, l.refined ? "refined |A|" : l.kind, kGrey);
        const int Sl = l.side > 0 ? int(l.side) : S, px = std::max(1, cell / Sl);
        for (size_t h = 0; h < l.maps.size(); ++h) {
            const int x0 = margin + label_w + int(h) * (cell + gap_x);
            for (int i = 0; i < Sl * Sl; ++i)
                c.fill_rect(x0 + (i % Sl) * px, y0 + (i / Sl) * px, px, px,
                            viridis(scale(std::abs(l.maps[h][size_t(i)]))));
            if (!l.query_independent)
                c.frame_rect(x0 + qc * Sl / S * px, y0 + qr * Sl / S * px, px, px, kQueryFrame,
                             std::max(1, px / 8));
            std::string note;
            if (h < l.gate.size()) note = fmt::format("σ(λ) = {:.2f}", l.gate[h]);
            if (h < l.other_mass.size())
                note += fmt::format("{}cls {:.2f}", note.empty() ? "" : "  ", l.other_mass[h]);
            c.text(x0 + cell / 2, y0 + cell + 3, note, kBlack, Font::Regular, Align::Centre);
        }
    }
    // Colour bar: hi at the top, lo at the bottom, both labelled, and the 1-2-5 ticks between
    // them that leave room for their labels.
    const int bar_y = top;
    for (int y = 0; y < bar_h; ++y)
        c.fill_rect(bar_x, bar_y + y, bar_w, 1, viridis(1.0 - double(y) / double(bar_h - 1)));
    c.frame_rect(bar_x, bar_y, bar_w, bar_h, kBlack);
    c.text(bar_x + bar_w, bar_y - line - 8, "log scale", kBlack, Font::Regular, Align::Centre);
    auto y_of = [&](double v) {
        return bar_y + int(std::lround((1.0 - scale(v)) * double(bar_h - 1)));
    };
    auto tick = [&](double v) {
        c.fill_rect(bar_x + bar_w, y_of(v), 4, 1, kBlack);
        // Three digits where the scale spans less than a decade, so that its ends differ.
        const std::string label =
            scale.hi < 10 * scale.lo ? fmt::format("{:.3g}", v) : fmt::format("{:.2g}", v);
        c.text(bar_x + bar_w + 7, y_of(v) - line / 2, label, kBlack);
    };
    const std::vector<double> ticks = scale.ticks();
    int last = y_of(scale.lo);
    tick(scale.lo);
    tick(scale.hi);
    for (size_t k = 1; k + 1 < ticks.size(); ++k) {
        const int y = y_of(ticks[k]);
        if (last - y < line || y - y_of(scale.hi) < line) continue;
        tick(ticks[k]);
        last = y;
    }
    return c;
}

void save_map_tensors(const MapFigure& fig, const std::string& path) {
    std::map<std::string, Tensor> out;
    for (const FigureLayer& l : fig.layers) {
        const std::string p = fmt::format("blocks.{}.", l.block);
        std::vector<double> all;
        for (const auto& m : l.maps) all.insert(all.end(), m.begin(), m.end());
        const int64_t side = l.side > 0 ? l.side : fig.side;
        out[p + (l.refined ? "refined" : "maps")] =
            Tensor::from_vector(all, {int64_t(l.maps.size()), side, side}, DType::F32);
        if (!l.gate.empty())
            out[p + "gate"] = Tensor::from_vector(l.gate, {int64_t(l.gate.size())}, DType::F32);
        if (!l.other_mass.empty())
            out[p + "other_mass"] =
                Tensor::from_vector(l.other_mass, {int64_t(l.other_mass.size())}, DType::F32);
    }
    save_safetensors(path, out,
                     {{"format", "vitgrad query maps 1"},
                      {"query_row", std::to_string(fig.query / fig.side)},
                      {"query_col", std::to_string(fig.query % fig.side)},
                      {"images", std::to_string(fig.images)}});
}

}  // namespace vg::analyze
