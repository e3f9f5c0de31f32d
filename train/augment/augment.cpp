// Per-image augmentation chain and batch mixing (see augment.h for the recipe and its sources).
// Built with -ffp-contract=off (CMakeLists.txt), so augmented values do not depend on the CPU the
// loader runs on.
#include "train/augment/augment.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/augment/randaugment.h"

namespace vg {

AugmentConfig AugmentConfig::none() {
    AugmentConfig c;
    c.crop_padding = 0;
    c.hflip_prob = 0;
    c.randaugment = false;
    c.erase_prob = 0;
    c.mix_prob = 0;
    c.label_smoothing = 0;
    return c;
}

std::string AugmentConfig::describe() const {
    static const char* interp[] = {"nearest", "bilinear", "bicubic"};
    static const char* erase[] = {"const", "rand", "pixel"};
    return fmt::format(
        "crop_padding={} hflip={} randaugment={} (n={} m={} mstd={} inc={} p={} translate_pct={} "
        "interp={}) "
        "norm={} erase(p={} mode={} count={} area=[{:.4g},{:.4g}] min_aspect={}) mixup_alpha={} "
        "cutmix_alpha={} "
        "mix_prob={} switch_prob={} correct_lam={} mixup_off_epoch={} smoothing={} repeats={} "
        "replicas={}",
        crop_padding, hflip_prob, randaugment, ra_num_ops, ra_magnitude, ra_magnitude_std,
        ra_increasing, ra_op_prob, ra_translate_pct, interp[int(ra_interp)],
        norm == NormChoice::Dataset ? "dataset" : "imagenet", erase_prob, erase[int(erase_mode)],
        erase_count, erase_min_area, erase_max_area, erase_min_aspect, mixup_alpha, cutmix_alpha,
        mix_prob, mix_switch_prob, cutmix_correct_lam, mixup_off_epoch, label_smoothing, repeats,
        repeat_replicas);
}

NormStats select_stats(const AugmentConfig& cfg, const NormStats& dataset_stats) {
    return cfg.norm == NormChoice::ImageNet ? imagenet_stats() : dataset_stats;
}

std::array<uint8_t, 3> fill_color(const NormStats& stats) {
    std::array<uint8_t, 3> f{};
    for (int c = 0; c < 3; ++c)
        f[size_t(c)] = uint8_t(std::min(255L, std::lround(255.0 * stats.mean[size_t(c)])));
    return f;
}

ImageU8 crop_padded(const ImageU8& img, int pad, int top, int left) {
    const ImageShape s = img.shape;
    if (top < 0 || left < 0 || top > 2 * pad || left > 2 * pad)
        fail("crop_padded", "offset ({}, {}) outside [0, {}] for padding {}", top, left, 2 * pad,
             pad);
    ImageU8 out(s, 0);
    for (int c = 0; c < s.c; ++c)
        for (int y = 0; y < s.h; ++y) {
            int sy = y + top - pad;
            if (sy < 0 || sy >= s.h) continue;
            for (int x = 0; x < s.w; ++x) {
                int sx = x + left - pad;
                if (sx >= 0 && sx < s.w) out.at(c, y, x) = img.at(c, sy, sx);
            }
        }
    return out;
}

ImageU8 hflip(const ImageU8& img) {
    ImageU8 out(img.shape);
    for (int c = 0; c < img.shape.c; ++c)
        for (int y = 0; y < img.shape.h; ++y)
            for (int x = 0; x < img.shape.w; ++x)
                out.at(c, y, x) = img.at(c, y, img.shape.w - 1 - x);
    return out;
}

void normalize(const ImageU8& img, const NormStats& stats, float* out) {
    int64_t hw = int64_t(img.shape.h) * img.shape.w;
    for (int c = 0; c < img.shape.c; ++c) {
        // Same rounding as torchvision: ToTensor divides by 255, Normalize subtracts and divides.
        float m = stats.mean[size_t(std::min(c, 2))], sd = stats.std[size_t(std::min(c, 2))];
        const uint8_t* p = img.plane(c);
        float* o = out + c * hw;
        for (int64_t i = 0; i < hw; ++i) o[i] = (float(p[i]) / 255.f - m) / sd;
    }
}

void random_erase(float* chw, ImageShape s, const AugmentConfig& cfg, SampleRng& rng) {
    if (cfg.erase_prob <= 0 || rng.uniform() > cfg.erase_prob) return;
    double area = double(s.h) * s.w;
    double log_lo = std::log(cfg.erase_min_aspect), log_hi = std::log(1.0 / cfg.erase_min_aspect);
    int count = std::max(1, cfg.erase_count);
    for (int k = 0; k < count; ++k) {
        for (int attempt = 0; attempt < 10; ++attempt) {
            double target = rng.uniform(cfg.erase_min_area, cfg.erase_max_area) * area / count;
            double aspect = std::exp(rng.uniform(log_lo, log_hi));
            int h = int(std::lround(std::sqrt(target * aspect)));
            int w = int(std::lround(std::sqrt(target / aspect)));
            if (w >= s.w || h >= s.h) continue;
            int top = int(rng.randint(0, s.h - h)), left = int(rng.randint(0, s.w - w));
            std::vector<float> chan(size_t(s.c), 0.f);
            if (cfg.erase_mode == EraseMode::Rand)
                for (auto& v : chan) v = float(rng.normal());
            for (int c = 0; c < s.c; ++c)
                for (int y = top; y < top + h; ++y)
                    for (int x = left; x < left + w; ++x)
                        chw[(int64_t(c) * s.h + y) * s.w + x] = cfg.erase_mode == EraseMode::Pixel
                                                                    ? float(rng.normal())
                                                                    : chan[size_t(c)];
            break;
        }
    }
}

void augment_train(const ImageU8& img, const AugmentConfig& cfg, const NormStats& stats,
                   SampleRng& rng, float* out) {
    ImageU8 cur = img;
    if (cfg.crop_padding > 0) {
        int top = int(rng.randint(0, 2 * cfg.crop_padding)),
            left = int(rng.randint(0, 2 * cfg.crop_padding));
        cur = crop_padded(cur, cfg.crop_padding, top, left);
    }
    if (cfg.hflip_prob > 0 && rng.uniform() < cfg.hflip_prob) cur = hflip(cur);
    if (cfg.randaugment) cur = rand_augment(cur, cfg, fill_color(stats), rng);
    normalize(cur, stats, out);
    random_erase(out, cur.shape, cfg, rng);
}

MixParams draw_mix(const AugmentConfig& cfg, int64_t epoch, int h, int w, SampleRng& rng) {
    MixParams mp;
    if (!cfg.mixing_enabled(epoch) || rng.uniform() >= cfg.mix_prob) return mp;
    bool both = cfg.mixup_alpha > 0 && cfg.cutmix_alpha > 0;
    mp.cutmix =
        both ? rng.uniform() < cfg.mix_switch_prob : cfg.cutmix_alpha > 0 && cfg.mixup_alpha <= 0;
    double alpha = mp.cutmix ? cfg.cutmix_alpha : cfg.mixup_alpha;
    mp.lam = rng.beta(alpha, alpha);
    if (mp.lam == 1.0 || !mp.cutmix) return mp;
    // timm rand_bbox: side sqrt(1 - lam) of each dimension, uniform centre, clipped.
    double ratio = std::sqrt(1.0 - mp.lam);
    int cut_h = int(h * ratio), cut_w = int(w * ratio);
    int cy = int(rng.randint(0, h - 1)), cx = int(rng.randint(0, w - 1));
    mp.y0 = std::clamp(cy - cut_h / 2, 0, h);
    mp.y1 = std::clamp(cy + cut_h / 2, 0, h);
    mp.x0 = std::clamp(cx - cut_w / 2, 0, w);
    mp.x1 = std::clamp(cx + cut_w / 2, 0, w);
    if (cfg.cutmix_correct_lam)
        mp.lam = 1.0 - double(mp.y1 - mp.y0) * (mp.x1 - mp.x0) / (double(h) * w);
    return mp;
}

void apply_mix(float* x, int64_t b, ImageShape s, const MixParams& mp) {
    if (mp.lam == 1.0) return;
    int64_t n = s.numel();
    float lam = float(mp.lam), rest = float(1.0 - mp.lam);
    // Pairs (i, b-1-i) are updated together so each reads its partner's unmixed pixels.
    for (int64_t i = 0; i < b / 2; ++i) {
        float* p = x + i * n;
        float* q = x + (b - 1 - i) * n;
        if (mp.cutmix) {
            for (int c = 0; c < s.c; ++c)
                for (int y = mp.y0; y < mp.y1; ++y)
                    for (int xx = mp.x0; xx < mp.x1; ++xx) {
                        int64_t k = (int64_t(c) * s.h + y) * s.w + xx;
                        std::swap(p[k], q[k]);
                    }
        } else {
            for (int64_t k = 0; k < n; ++k) {
                float a = p[k], bq = q[k];
                p[k] = a * lam + bq * rest;
                q[k] = bq * lam + a * rest;
            }
        }
    }
}

void mix_targets(const int64_t* labels, int64_t b, int k, double lam, double smoothing,
                 float* targets) {
    double off = smoothing / k, on = 1.0 - smoothing + off;
    for (int64_t i = 0; i < b; ++i) {
        float* t = targets + i * k;
        for (int j = 0; j < k; ++j) t[j] = float(off);
        int64_t y1 = labels[i], y2 = labels[b - 1 - i];
        t[y1] = float(t[y1] + lam * (on - off));
        t[y2] = float(t[y2] + (1.0 - lam) * (on - off));
    }
}

}  // namespace vg
