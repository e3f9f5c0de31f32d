// SampleRng: the random stream of one augmentation item (a sample, a batch's mixup, an epoch's
// order). Philox keyed by the seed with the counter (draw, item, epoch, stream): the values depend
// only on those numbers, never on which worker thread asks or in what order.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/random.h"

namespace vg {

enum class RngStream : uint32_t { Sample = 1, Mix = 2, Order = 3 };

class SampleRng {
  public:
    SampleRng(uint64_t seed, RngStream stream, uint64_t epoch, uint64_t item)
        : seed_(seed), stream_(uint32_t(stream)), epoch_(uint32_t(epoch)), item_(uint32_t(item)) {}

    // [0, 1)
    double uniform() {
        Philox4 w = block();
        return uniform01(w.v[0], w.v[1]);
    }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // Integer in [lo, hi], both ends included (Python's random.randint).
    int64_t randint(int64_t lo, int64_t hi) {
        int64_t v = lo + int64_t(uniform() * double(hi - lo + 1));
        return v > hi ? hi : v;
    }
    double normal() { return normal01(block()); }
    double normal(double mean, double std) { return mean + std * normal(); }
    // Gamma(alpha, 1) by Marsaglia-Tsang; alpha < 1 through the alpha + 1 boost.
    double gamma(double alpha) {
        if (alpha < 1.0) return gamma(alpha + 1.0) * std::pow(1.0 - uniform(), 1.0 / alpha);
        double d = alpha - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
        for (;;) {
            double x = normal(), v = 1.0 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            double u = 1.0 - uniform();
            if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
        }
    }
    double beta(double a, double b) {
        double x = gamma(a), y = gamma(b);
        return x / (x + y);
    }

  private:
    Philox4 block() {
        uint64_t k = seed_ * 0x9E3779B97F4A7C15ull + stream_;
        return philox4x32(k, draw_++, item_, epoch_, stream_);
    }
    uint64_t seed_;
    uint32_t stream_, epoch_, item_;
    uint32_t draw_ = 0;
};

}  // namespace vg
