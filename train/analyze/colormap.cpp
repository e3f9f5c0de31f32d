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

LogScale LogScale::fitted(double min_positive, double max_value, int decades) {
    if (decades < 1) fail("LogScale", "decades must be >= 1, got {}", decades);
    if (!(max_value > 0) || !std::isfinite(max_value))
        fail("LogScale", "the largest value must be positive and finite, got {}", max_value);
    double lo = max_value / std::pow(10.0, decades);
    if (min_positive > lo && std::isfinite(min_positive)) lo = min_positive;
    // A constant map still gets a span: a tenth of a decade below its value.
    if (!(lo < max_value)) lo = max_value / std::pow(10.0, 0.1);
    return {lo, max_value};
}

double LogScale::operator()(double v) const {
    if (!(v > lo)) return 0.0;
    return std::clamp(std::log10(v / lo) / std::log10(hi / lo), 0.0, 1.0);
}

std::vector<double> LogScale::ticks() const {
    std::vector<double> t = {lo};
    for (int e = int(std::floor(std::log10(lo))); e <= int(std::ceil(std::log10(hi))); ++e)
        for (double m : {1.0, 2.0, 5.0}) {
            const double v = m * std::pow(10.0, e);
            if (v > lo * 1.0001 && v < hi / 1.0001) t.push_back(v);
        }
    t.push_back(hi);
    return t;
}

}  // namespace vg::analyze
