// RandAugment (timm rand_augment_transform, "rand-m9-mstd0.5-inc1", as DeiT and ConViT's main.py
// use it): the 15 ops implemented on uint8 CHW images with PIL's arithmetic (LUTs, ImageEnhance
// blends, affine maps sampled at pixel centres with fill outside), and timm's magnitude-to-argument
// rules.
#pragma once
#include <array>
#include <cstdint>

#include "train/augment/augment.h"

namespace vg {

// The op list of timm's _RAND_TRANSFORMS / _RAND_INCREASING_TRANSFORMS, in that order. With
// `increasing`, Posterize/Solarize/Color/Contrast/Brightness/Sharpness are the *Increasing
// variants.
enum class RaOp {
    AutoContrast,
    Equalize,
    Invert,
    Rotate,
    Posterize,
    Solarize,
    SolarizeAdd,
    Color,
    Contrast,
    Brightness,
    Sharpness,
    ShearX,
    ShearY,
    TranslateXRel,
    TranslateYRel
};
inline constexpr int kRaNumOps = 15;
const char* ra_op_name(RaOp op, bool increasing);

// timm's level function: magnitude (0..10) -> the op's argument. Rotate (degrees), shear
// (factor), translate (fraction of the side) and the increasing enhance ops (factor around 1)
// get a random sign from `rng`; ops without an argument return 0.
double ra_level_to_arg(RaOp op, double magnitude, bool increasing, double translate_pct,
                       SampleRng& rng);

// Applies one op with its argument (as returned by ra_level_to_arg).
ImageU8 ra_apply(RaOp op, const ImageU8& img, double arg, const std::array<uint8_t, 3>& fill,
                 Interp interp);

// Full RandAugment: cfg.ra_num_ops ops drawn with replacement, each applied with cfg.ra_op_prob
// at magnitude N(cfg.ra_magnitude, cfg.ra_magnitude_std) clipped to [0, 10].
ImageU8 rand_augment(const ImageU8& img, const AugmentConfig& cfg,
                     const std::array<uint8_t, 3>& fill, SampleRng& rng);

// PIL Image.transform(AFFINE, m): output pixel centre (x+.5, y+.5) reads input
// (m0 x' + m1 y' + m2, m3 x' + m4 y' + m5); points outside the image take `fill`.
ImageU8 affine(const ImageU8& img, const std::array<double, 6>& m, Interp interp,
               const std::array<uint8_t, 3>& fill);

}  // namespace vg
