// Counter-based random numbers (Philox4x32-10): element i of a draw depends only on (seed,
// offset + i), so CPU loops and CUDA threads produce identical streams in any order.
#pragma once
#include <cstdint>

#include "core/math.h"

namespace vg {

struct Philox4 {
    uint32_t v[4];
};

// Philox4x32-10 (Salmon et al., SC'11) of counter `ctr` under a 64-bit key.
VG_HD Philox4 philox4x32(uint64_t key, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3) {
    uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
    uint32_t x0 = c0, x1 = c1, x2 = c2, x3 = c3;
    for (int r = 0; r < 10; ++r) {
        uint64_t p0 = uint64_t(0xD2511F53u) * x0;
        uint64_t p1 = uint64_t(0xCD9E8D57u) * x2;
        uint32_t y0 = uint32_t(p1 >> 32) ^ x1 ^ k0;
        uint32_t y2 = uint32_t(p0 >> 32) ^ x3 ^ k1;
        x0 = y0;
        x1 = uint32_t(p1);
        x2 = y2;
        x3 = uint32_t(p0);
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return {{x0, x1, x2, x3}};
}

// The four words for element `index` of a draw at `offset`; `round` separates rejection retries.
VG_HD Philox4 philox_for(uint64_t seed, uint64_t offset, uint64_t index, uint32_t round = 0) {
    uint64_t c = offset + index;
    return philox4x32(seed, uint32_t(c), uint32_t(c >> 32), round, 0x5643u /* "VC" stream tag */);
}

// A double in [0, 1) from two words (53 random bits).
VG_HD double uniform01(uint32_t hi, uint32_t lo) {
    uint64_t bits = (uint64_t(hi) << 21) ^ (uint64_t(lo) >> 11);
    return double(bits & ((uint64_t(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// Standard normal via Box-Muller on the four words of one Philox call.
VG_HD double normal01(Philox4 w) {
    double u1 = 1.0 - uniform01(w.v[0], w.v[1]);  // (0, 1]: log is finite
    double u2 = uniform01(w.v[2], w.v[3]);
    return math::sqrt(-2.0 * math::log(u1)) * ::cos(6.283185307179586 * u2);
}

// Global seeded stream of draws; each random op takes `numel` counters from `offset`.
class Generator {
  public:
    explicit Generator(uint64_t seed = 0) : seed_(seed) {}
    void manual_seed(uint64_t seed) {
        seed_ = seed;
        offset_ = 0;
    }
    uint64_t seed() const { return seed_; }
    uint64_t offset() const { return offset_; }
    void set_offset(uint64_t o) { offset_ = o; }
    // Reserves n counters and returns the first.
    uint64_t advance(uint64_t n) {
        uint64_t o = offset_;
        offset_ += n;
        return o;
    }

  private:
    uint64_t seed_;
    uint64_t offset_ = 0;
};

Generator& default_generator();
// Seeds the global generator (model init, dropout, data order derive from it or from their own).
void manual_seed(uint64_t seed);

enum class RandomKind : uint8_t { Uniform, Normal, TruncNormal };

struct RandomParams {
    RandomKind kind = RandomKind::Uniform;
    double mean = 0, std = 1, lo = 0, hi = 1;  // TruncNormal: [lo, hi] absolute; Uniform: [lo, hi)
};

// The value of element `index` of a draw; shared by the CPU and CUDA random kernels.
VG_HD double random_value(const RandomParams& p, uint64_t seed, uint64_t offset, uint64_t index) {
    if (p.kind == RandomKind::Uniform) {
        Philox4 w = philox_for(seed, offset, index);
        return p.lo + (p.hi - p.lo) * uniform01(w.v[0], w.v[1]);
    }
    if (p.kind == RandomKind::Normal)
        return p.mean + p.std * normal01(philox_for(seed, offset, index));
    // Truncated normal by rejection: deterministic per element since retries use new rounds.
    for (uint32_t round = 0; round < 64; ++round) {
        double v = p.mean + p.std * normal01(philox_for(seed, offset, index, round));
        if (v >= p.lo && v <= p.hi) return v;
    }
    return p.mean < p.lo ? p.lo : (p.mean > p.hi ? p.hi : p.mean);
}

}  // namespace vg
