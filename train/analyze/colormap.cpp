// Viridis and the log scale.
#include "train/analyze/colormap.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace vg::analyze {

Rgb viridis(double t) {
    // viridis(9) as published by the viridis authors: 440154 472D7B 3B528B 2C728E 21908C
    // 27AD81 5DC863 AADC32 FDE725.
    static const Rgb stops[] = {{0x44, 0x01, 0x54}, {0x47, 0x2D, 0x7B}, {0x3B, 0x52, 0x8B},
                                {0x2C, 0x72, 0x8E}, {0x21, 0x90, 0x8C}, {0x27, 0xAD, 0x81},
                                {0x5D, 0xC8, 0x63}, {0xAA, 0xDC, 0x32}, {0xFD, 0xE7, 0x25}};
    if (!std::isfinite(t)) t = 0;
    t = std::clamp(t, 0.0, 1.0) * 8.0;
    const int i = std::min(int(t), 7);
    const double f = t - double(i);
    auto lerp = [f](uint8_t a, uint8_t b) {
        return uint8_t(std::lround(double(a) + (double(b) - double(a)) * f));
    };
    return {lerp(stops[i].r, stops[i + 1].r), lerp(stops[i].g, stops[i + 1].g),
            lerp(stops[i].b, stops[i + 1].b)};
}

LogScale LogScale::covering(double max_value, int decades) {
    if (decades < 1) fail("LogScale", "decades must be >= 1, got {}", decades);
    if (!(max_value > 0) || !std::isfinite(max_value))
        fail("LogScale", "the largest value must be positive and finite, got {}", max_value);
    return {std::pow(10.0, std::ceil(std::log10(max_value) - 1e-12)), decades};
}

double LogScale::bottom() const { return top / std::pow(10.0, decades); }

double LogScale::operator()(double v) const {
    if (!(v > bottom())) return 0.0;
    return std::clamp(std::log10(v / bottom()) / double(decades), 0.0, 1.0);
}

}  // namespace vg::analyze
