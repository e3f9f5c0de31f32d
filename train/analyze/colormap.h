// Colour scales of the map figures: viridis, and a logarithmic normalisation over whole decades
// (ConViT's attention-map figures use a logarithmic colour map).
#pragma once
#include <vector>

#include "train/analyze/canvas.h"

namespace vg::analyze {

// Viridis (matplotlib's default map) at t in [0, 1], clamped: linear between 9 published stops.
Rgb viridis(double t);

// Maps values to [0, 1] on a logarithmic scale from `lo` (0, and everything below) to `hi` (1).
// fitted() spans the values drawn, from the largest down to the smallest positive one but at most
// `decades` decades: a nearly uniform map then still shows its structure (its colour bar spans
// a fraction of a decade), and a peaked one keeps its tails visible down to hi / 10^decades.
struct LogScale {
    double lo = 1e-3, hi = 1.0;
    static LogScale fitted(double min_positive, double max_value, int decades);
    double operator()(double v) const;
    // Values for the colour bar: lo, hi and the 1-2-5 steps between them.
    std::vector<double> ticks() const;
};

}  // namespace vg::analyze
