// Colour scales of the map figures: viridis, and a logarithmic normalisation over whole decades
// (ConViT's attention-map figures use a logarithmic colour map).
#pragma once
#include "train/analyze/canvas.h"

namespace vg::analyze {

// Viridis (matplotlib's default map) at t in [0, 1], clamped: linear between 9 published stops.
Rgb viridis(double t);

// Maps values to [0, 1] on a log scale from `top` / 10^decades (0) to `top` (1), where `top` is
// the smallest power of ten at or above the largest value given; smaller values clamp to 0.
struct LogScale {
    double top = 1.0;
    int decades = 3;
    static LogScale covering(double max_value, int decades);
    double operator()(double v) const;
    double bottom() const;
};

}  // namespace vg::analyze
