// RandAugment ops with PIL's arithmetic and timm's level rules (see randaugment.h).
// Built with -ffp-contract=off (CMakeLists.txt): PIL (built for generic x86-64) rounds every
// product, and truncation to uint8 turns a last-bit difference into a grey level.
#include "train/augment/randaugment.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace vg {

namespace {

constexpr double kMaxLevel = 10.0;

using Lut = std::array<uint8_t, 256>;

ImageU8 apply_lut(const ImageU8& img, const std::array<Lut, 3>& luts) {
    ImageU8 out(img.shape);
    int64_t hw = int64_t(img.shape.h) * img.shape.w;
    for (int c = 0; c < img.shape.c; ++c) {
        const Lut& lut = luts[size_t(std::min(c, 2))];
        const uint8_t* src = img.plane(c);
        uint8_t* dst = out.plane(c);
        for (int64_t i = 0; i < hw; ++i) dst[i] = lut[src[i]];
    }
    return out;
}

ImageU8 apply_lut(const ImageU8& img, const Lut& lut) { return apply_lut(img, {lut, lut, lut}); }

std::array<int64_t, 256> histogram(const ImageU8& img, int c) {
    std::array<int64_t, 256> h{};
    const uint8_t* p = img.plane(c);
    for (int64_t i = 0, n = int64_t(img.shape.h) * img.shape.w; i < n; ++i) ++h[p[i]];
    return h;
}

// PIL "L" conversion (ITU-R 601-2 luma, fixed point with rounding); grey images pass through.
uint8_t luma(const ImageU8& img, int64_t i) {
    if (img.shape.c < 3) return img.data[size_t(i)];
    int64_t hw = int64_t(img.shape.h) * img.shape.w;
    uint32_t r = img.data[size_t(i)], g = img.data[size_t(hw + i)],
             b = img.data[size_t(2 * hw + i)];
    return uint8_t((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

// PIL Image.blend(degenerate, img, factor): float interpolation, clipped, truncated.
ImageU8 blend(const ImageU8& degenerate, const ImageU8& img, double factor) {
    ImageU8 out(img.shape);
    float a = float(factor);
    for (size_t i = 0; i < img.data.size(); ++i) {
        float v = float(degenerate.data[i]) + a * (float(img.data[i]) - float(degenerate.data[i]));
        out.data[i] = v <= 0.f ? 0 : v >= 255.f ? 255 : uint8_t(v);
    }
    return out;
}

ImageU8 autocontrast(const ImageU8& img) {
    std::array<Lut, 3> luts;
    for (int c = 0; c < std::min(img.shape.c, 3); ++c) {
        auto h = histogram(img, c);
        int lo = 0, hi = 255;
        while (lo < 255 && !h[size_t(lo)]) ++lo;
        while (hi > 0 && !h[size_t(hi)]) --hi;
        for (int i = 0; i < 256; ++i) {
            if (hi <= lo) {
                luts[size_t(c)][size_t(i)] = uint8_t(i);
                continue;
            }
            double scale = 255.0 / (hi - lo), offset = -lo * scale;
            int v = int(i * scale + offset);
            luts[size_t(c)][size_t(i)] = uint8_t(std::clamp(v, 0, 255));
        }
    }
    return apply_lut(img, luts);
}

ImageU8 equalize(const ImageU8& img) {
    std::array<Lut, 3> luts;
    for (int c = 0; c < std::min(img.shape.c, 3); ++c) {
        auto h = histogram(img, c);
        int64_t total = 0, last = 0, nonzero = 0;
        for (int i = 0; i < 256; ++i)
            if (h[size_t(i)]) total += h[size_t(i)], last = h[size_t(i)], ++nonzero;
        int64_t step =
            nonzero <= 1
                ? 0
                : (total - last) / 255;  // current Pillow divides by 255 (older releases by 256)
        int64_t n = step / 2;
        for (int i = 0; i < 256; ++i) {
            luts[size_t(c)][size_t(i)] =
                step ? uint8_t(std::min<int64_t>(n / step, 255)) : uint8_t(i);
            n += h[size_t(i)];
        }
    }
    return apply_lut(img, luts);
}

ImageU8 smooth(const ImageU8& img) {
    // PIL ImageFilter.SMOOTH: [[1,1,1],[1,5,1],[1,1,1]] / 13; the one-pixel border is copied.
    ImageU8 out = img;
    int h = img.shape.h, w = img.shape.w;
    for (int c = 0; c < img.shape.c; ++c)
        for (int y = 1; y + 1 < h; ++y)
            for (int x = 1; x + 1 < w; ++x) {
                int s = 0;
                for (int dy = -1; dy <= 1; ++dy)
                    for (int dx = -1; dx <= 1; ++dx)
                        s += img.at(c, y + dy, x + dx) * ((dx == 0 && dy == 0) ? 5 : 1);
                out.at(c, y, x) =
                    uint8_t((2 * s + 13) / 26);  // rounded to nearest, as Pillow 9 does
            }
    return out;
}

ImageU8 enhance(RaOp op, const ImageU8& img, double factor) {
    ImageU8 deg(img.shape);
    int64_t hw = int64_t(img.shape.h) * img.shape.w;
    if (op == RaOp::Color) {
        for (int64_t i = 0; i < hw; ++i) {
            uint8_t l = luma(img, i);
            for (int c = 0; c < img.shape.c; ++c) deg.plane(c)[i] = l;
        }
    } else if (op == RaOp::Contrast) {
        double sum = 0;
        for (int64_t i = 0; i < hw; ++i) sum += luma(img, i);
        std::fill(deg.data.begin(), deg.data.end(), uint8_t(int(sum / double(hw) + 0.5)));
    } else if (op == RaOp::Sharpness) {
        deg = smooth(img);
    }  // Brightness: black
    return blend(deg, img, factor);
}

// Bilinear/bicubic value of plane `p` (h x w) at input point (xs, ys), PIL's generic transform.
bool sample(const uint8_t* p, int h, int w, double xs, double ys, Interp interp, uint8_t& v) {
    if (xs < 0.0 || xs >= w || ys < 0.0 || ys >= h) return false;
    xs -= 0.5;
    ys -= 0.5;
    int x = int(std::floor(xs)), y = int(std::floor(ys));
    double dx = xs - x, dy = ys - y;
    auto at = [&](int yy, int xx) {
        return double(p[std::clamp(yy, 0, h - 1) * w + std::clamp(xx, 0, w - 1)]);
    };
    if (interp == Interp::Bilinear) {
        double v1 = at(y, x) + (at(y, x + 1) - at(y, x)) * dx;
        double v2 = at(y + 1, x) + (at(y + 1, x + 1) - at(y + 1, x)) * dx;
        v = uint8_t(v1 + (v2 - v1) * dy);  // in range by convexity; PIL truncates
        return true;
    }
    // PIL's affine bicubic (a = -1), edge pixels repeated.
    auto cubic = [](double v1, double v2, double v3, double v4, double d) {
        double p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4;
        return p1 + d * (p2 + d * (p3 + d * p4));
    };
    double r[4];
    for (int k = 0; k < 4; ++k) {
        int yy = y - 1 + k;
        r[k] = cubic(at(yy, x - 1), at(yy, x), at(yy, x + 1), at(yy, x + 2), dx);
    }
    double s = cubic(r[0], r[1], r[2], r[3], dy);
    v = s <= 0.0 ? 0 : s >= 255.0 ? 255 : uint8_t(s);
    return true;
}

}  // namespace

namespace {

// PIL's nearest-neighbour affine paths: pure scale/translate steps a double along each row
// (ImagingScaleAffine); anything else runs in 16.16 fixed point (affine_fixed). Matching them
// matters where a sample lands exactly on a pixel edge (e.g. ShearY 0.2).
ImageU8 affine_nearest(const ImageU8& img, const std::array<double, 6>& m,
                       const std::array<uint8_t, 3>& fill) {
    ImageU8 out(img.shape);
    int h = img.shape.h, w = img.shape.w;
    auto coord = [](double v) { return v < 0.0 ? -1 : int(v); };
    for (int c = 0; c < img.shape.c; ++c) {
        const uint8_t* src = img.plane(c);
        uint8_t* dst = out.plane(c);
        std::fill(dst, dst + int64_t(h) * w, fill[size_t(std::min(c, 2))]);
        if (m[1] == 0 && m[3] == 0) {
            std::vector<int> xin(static_cast<size_t>(w));
            double xo = m[2] + m[0] * 0.5, yo = m[5] + m[4] * 0.5;
            for (int x = 0; x < w; ++x, xo += m[0]) xin[size_t(x)] = coord(xo);
            for (int y = 0; y < h; ++y, yo += m[4]) {
                int yi = coord(yo);
                if (yi < 0 || yi >= h) continue;
                for (int x = 0; x < w; ++x)
                    if (xin[size_t(x)] >= 0 && xin[size_t(x)] < w)
                        dst[y * w + x] = src[yi * w + xin[size_t(x)]];
            }
            continue;
        }
        auto fix = [](double v) { return int32_t(std::floor(v * 65536.0 + 0.5)); };
        int32_t a0 = fix(m[0]), a1 = fix(m[1]), a3 = fix(m[3]), a4 = fix(m[4]);
        int32_t a2 = fix(m[2] + m[0] * 0.5 + m[1] * 0.5), a5 = fix(m[5] + m[3] * 0.5 + m[4] * 0.5);
        for (int y = 0; y < h; ++y, a2 += a1, a5 += a4) {
            int32_t xx = a2, yy = a5;
            for (int x = 0; x < w; ++x, xx += a0, yy += a3) {
                int xi = xx >> 16, yi = yy >> 16;  // arithmetic shift: floor
                if (xi >= 0 && xi < w && yi >= 0 && yi < h) dst[y * w + x] = src[yi * w + xi];
            }
        }
    }
    return out;
}

}  // namespace

ImageU8 affine(const ImageU8& img, const std::array<double, 6>& m, Interp interp,
               const std::array<uint8_t, 3>& fill) {
    if (interp == Interp::Nearest) return affine_nearest(img, m, fill);
    ImageU8 out(img.shape);
    int h = img.shape.h, w = img.shape.w;
    for (int c = 0; c < img.shape.c; ++c) {
        const uint8_t* src = img.plane(c);
        uint8_t* dst = out.plane(c);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                double xo = x + 0.5, yo = y + 0.5;
                double xs = m[0] * xo + m[1] * yo + m[2], ys = m[3] * xo + m[4] * yo + m[5];
                uint8_t v;
                dst[y * w + x] =
                    sample(src, h, w, xs, ys, interp, v) ? v : fill[size_t(std::min(c, 2))];
            }
    }
    return out;
}

const char* ra_op_name(RaOp op, bool increasing) {
    static const char* names[kRaNumOps] = {
        "AutoContrast", "Equalize",    "Invert", "Rotate",        "Posterize",
        "Solarize",     "SolarizeAdd", "Color",  "Contrast",      "Brightness",
        "Sharpness",    "ShearX",      "ShearY", "TranslateXRel", "TranslateYRel"};
    static const char* inc[kRaNumOps] = {"AutoContrast",
                                         "Equalize",
                                         "Invert",
                                         "Rotate",
                                         "PosterizeIncreasing",
                                         "SolarizeIncreasing",
                                         "SolarizeAdd",
                                         "ColorIncreasing",
                                         "ContrastIncreasing",
                                         "BrightnessIncreasing",
                                         "SharpnessIncreasing",
                                         "ShearX",
                                         "ShearY",
                                         "TranslateXRel",
                                         "TranslateYRel"};
    return (increasing ? inc : names)[int(op)];
}

double ra_level_to_arg(RaOp op, double level, bool increasing, double translate_pct,
                       SampleRng& rng) {
    auto negate = [&](double v) { return rng.uniform() > 0.5 ? -v : v; };  // timm _randomly_negate
    double f = level / kMaxLevel;
    switch (op) {
        case RaOp::AutoContrast:
        case RaOp::Equalize:
        case RaOp::Invert:
            return 0.0;
        case RaOp::Rotate:
            return negate(f * 30.0);
        case RaOp::Posterize:
            return increasing ? 4 - int(f * 4) : int(f * 4);  // bits kept
        case RaOp::Solarize:
            return increasing ? 256 - int(f * 256) : int(f * 256);  // threshold
        case RaOp::SolarizeAdd:
            return int(f * 110);
        case RaOp::Color:
        case RaOp::Contrast:
        case RaOp::Brightness:
        case RaOp::Sharpness:
            return increasing ? 1.0 + negate(f * 0.9) : f * 1.8 + 0.1;
        case RaOp::ShearX:
        case RaOp::ShearY:
            return negate(f * 0.3);
        case RaOp::TranslateXRel:
        case RaOp::TranslateYRel:
            return negate(f * translate_pct);
    }
    return 0.0;
}

ImageU8 ra_apply(RaOp op, const ImageU8& img, double arg, const std::array<uint8_t, 3>& fill,
                 Interp interp) {
    Lut lut;
    double w = img.shape.w, h = img.shape.h;
    switch (op) {
        case RaOp::AutoContrast:
            return autocontrast(img);
        case RaOp::Equalize:
            return equalize(img);
        case RaOp::Invert:
            for (int i = 0; i < 256; ++i) lut[size_t(i)] = uint8_t(255 - i);
            return apply_lut(img, lut);
        case RaOp::Posterize: {
            int bits = int(arg);
            if (bits >= 8) return img;
            uint8_t mask = uint8_t(~((1 << (8 - bits)) - 1));
            for (int i = 0; i < 256; ++i) lut[size_t(i)] = uint8_t(i & mask);
            return apply_lut(img, lut);
        }
        case RaOp::Solarize:
            for (int i = 0; i < 256; ++i) lut[size_t(i)] = uint8_t(i < arg ? i : 255 - i);
            return apply_lut(img, lut);
        case RaOp::SolarizeAdd:  // timm solarize_add, threshold 128
            for (int i = 0; i < 256; ++i)
                lut[size_t(i)] = uint8_t(i < 128 ? std::min(255, i + int(arg)) : i);
            return apply_lut(img, lut);
        case RaOp::Color:
        case RaOp::Contrast:
        case RaOp::Brightness:
        case RaOp::Sharpness:
            return enhance(op, img, arg);
        case RaOp::Rotate: {
            // PIL Image.rotate(angle) about the centre (w/2, h/2), counter-clockwise for angle > 0.
            double t = -arg * 3.14159265358979323846 / 180.0, cx = w / 2, cy = h / 2;
            double a = std::cos(t), b = std::sin(t), d = -std::sin(t), e = std::cos(t);
            return affine(img, {a, b, a * -cx + b * -cy + cx, d, e, d * -cx + e * -cy + cy}, interp,
                          fill);
        }
        case RaOp::ShearX:
            return affine(img, {1, arg, 0, 0, 1, 0}, interp, fill);
        case RaOp::ShearY:
            return affine(img, {1, 0, 0, arg, 1, 0}, interp, fill);
        case RaOp::TranslateXRel:
            return affine(img, {1, 0, arg * w, 0, 1, 0}, interp, fill);
        case RaOp::TranslateYRel:
            return affine(img, {1, 0, 0, 0, 1, arg * h}, interp, fill);
    }
    fail("ra_apply", "unknown RandAugment op {}", int(op));
}

ImageU8 rand_augment(const ImageU8& img, const AugmentConfig& cfg,
                     const std::array<uint8_t, 3>& fill, SampleRng& rng) {
    ImageU8 cur = img;
    // The ops are drawn up front (numpy choice with replacement), then each runs or not.
    std::vector<RaOp> ops;
    for (int k = 0; k < cfg.ra_num_ops; ++k) ops.push_back(RaOp(rng.randint(0, kRaNumOps - 1)));
    for (RaOp op : ops) {
        if (cfg.ra_op_prob < 1.0 && rng.uniform() > cfg.ra_op_prob) continue;
        double m = cfg.ra_magnitude;
        if (cfg.ra_magnitude_std > 0) m = rng.normal(m, cfg.ra_magnitude_std);
        m = std::clamp(m, 0.0, kMaxLevel);
        double arg = ra_level_to_arg(op, m, cfg.ra_increasing, cfg.ra_translate_pct, rng);
        cur = ra_apply(op, cur, arg, fill, cfg.ra_interp);
    }
    return cur;
}

}  // namespace vg
