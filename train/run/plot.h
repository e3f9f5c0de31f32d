// A tiny SVG line-plot writer for training curves (no dependencies: hand-written SVG text).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace vg {

struct Series {
    Series(std::string label = "", std::vector<double> x = {}, std::vector<double> y = {})
        : label(std::move(label)), x(std::move(x)), y(std::move(y)) {}
    std::string label;
    std::vector<double> x, y;
    std::string color;    // SVG colour; empty: the palette colour of the series' position
    bool dashed = false;  // reference lines
    double width = 1.6;   // stroke width
};

struct Panel {
    std::string title, xlabel, ylabel;
    std::vector<Series> series;
};

// Panels laid out in a grid of `cols` columns, each with axes, ticks and a legend.
std::string render_svg(const std::vector<Panel>& panels, int cols = 2, int panel_w = 380,
                       int panel_h = 260);
// Writes the text to `path`; throws vg::Error naming the path on failure.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace vg
