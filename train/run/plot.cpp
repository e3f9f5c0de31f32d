// SVG rendering of line panels: data range -> pixel transform, 5 ticks per axis, a legend.
#include "train/run/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "core/error.h"

namespace vg {

namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '<')
            out += "&lt;";
        else if (c == '>')
            out += "&gt;";
        else if (c == '&')
            out += "&amp;";
        else
            out += c;
    }
    return out;
}

struct Range {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    void add(double v) {
        if (!std::isfinite(v)) return;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    void settle() {
        if (!(lo <= hi)) lo = 0, hi = 1;
        if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
    }
};

void render_panel(std::string& out, const Panel& p, double ox, double oy, int w, int h) {
    const double left = 58, right = 12, top = 26, bottom = 40;
    double pw = w - left - right, ph = h - top - bottom;
    Range rx, ry;
    for (const Series& s : p.series) {
        for (double v : s.x) rx.add(v);
        for (double v : s.y) ry.add(v);
    }
    rx.settle();
    ry.settle();
    auto px = [&](double v) { return ox + left + (v - rx.lo) / (rx.hi - rx.lo) * pw; };
    auto py = [&](double v) { return oy + top + (1 - (v - ry.lo) / (ry.hi - ry.lo)) * ph; };

    out += fmt::format(
        "<text x='{:.1f}' y='{:.1f}' font-size='13' text-anchor='middle' "
        "font-weight='bold'>{}</text>\n",
        ox + left + pw / 2, oy + 16, escape(p.title));
    out += fmt::format(
        "<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='none' "
        "stroke='#444'/>\n",
        ox + left, oy + top, pw, ph);
    for (int i = 0; i <= 4; ++i) {
        double vx = rx.lo + (rx.hi - rx.lo) * i / 4, vy = ry.lo + (ry.hi - ry.lo) * i / 4;
        out += fmt::format(
            "<line x1='{0:.1f}' y1='{1:.1f}' x2='{0:.1f}' y2='{2:.1f}' stroke='#ddd'/>"
            "<text x='{0:.1f}' y='{3:.1f}' font-size='10' text-anchor='middle'>{4:.4g}</text>\n",
            px(vx), oy + top, oy + top + ph, oy + top + ph + 13, vx);
        out += fmt::format(
            "<line x1='{0:.1f}' y1='{1:.1f}' x2='{2:.1f}' y2='{1:.1f}' stroke='#ddd'/>"
            "<text x='{3:.1f}' y='{4:.1f}' font-size='10' text-anchor='end'>{5:.4g}</text>\n",
            ox + left, py(vy), ox + left + pw, ox + left - 4, py(vy) + 3, vy);
    }
    out +=
        fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='11' text-anchor='middle'>{}</text>\n",
                    ox + left + pw / 2, oy + h - 8, escape(p.xlabel));
    out += fmt::format(
        "<text x='{0:.1f}' y='{1:.1f}' font-size='11' text-anchor='middle' "
        "transform='rotate(-90 {0:.1f} {1:.1f})'>{2}</text>\n",
        ox + 14, oy + top + ph / 2, escape(p.ylabel));
    for (size_t k = 0; k < p.series.size(); ++k) {
        const Series& s = p.series[k];
        const std::string color = s.color.empty() ? kColors[k % std::size(kColors)] : s.color;
        std::string pts;
        for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
            if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]))
                pts += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i]));
        out +=
            fmt::format("<polyline fill='none' stroke='{}' stroke-width='{:.1f}'{} points='{}'/>\n",
                        color, s.width, s.dashed ? " stroke-dasharray='5,4'" : "", pts);
        double ly = oy + top + 12 + 13 * double(k);
        out += fmt::format(
            "<line x1='{0:.1f}' y1='{1:.1f}' x2='{2:.1f}' y2='{1:.1f}' stroke='{3}' "
            "stroke-width='2'/><text x='{4:.1f}' y='{5:.1f}' font-size='10'>{6}</text>\n",
            ox + left + pw - 90, ly, ox + left + pw - 74, color, ox + left + pw - 70, ly + 3,
            escape(s.label));
    }
}

}  // namespace

std::string render_svg(const std::vector<Panel>& panels, int cols, int panel_w, int panel_h) {
    cols = std::max(1, std::min<int>(cols, std::max<int>(1, int(panels.size()))));
    int rows = int((panels.size() + cols - 1) / cols);
    std::string out = fmt::format(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-family='sans-serif'>\n"
        "<rect width='100%' height='100%' fill='white'/>\n",
        cols * panel_w, std::max(rows, 1) * panel_h);
    for (size_t i = 0; i < panels.size(); ++i)
        render_panel(out, panels[i], double(int(i) % cols * panel_w),
                     double(int(i) / cols * panel_h), panel_w, panel_h);
    return out + "</svg>\n";
}

void write_text_file(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) fail("write_text_file", "cannot open {} for writing", path);
    f << text;
    if (!f.flush()) fail("write_text_file", "writing {} failed", path);
}

}  // namespace vg
