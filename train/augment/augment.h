// Training augmentation (the DeiT/ConViT recipe: DeiT Table 9 and facebookresearch/deit main.py,
// at 32x32 as docs/training.md describes): random crop with zero padding, horizontal flip,
// RandAugment, normalisation, random erasing, and batch-level mixup/cutmix folded with label
// smoothing into soft targets. Every knob is a field of AugmentConfig; the defaults are the CIFAR
// recipe of docs/training.md.
#pragma once
#include <cstdint>
#include <string>

#include "train/augment/sample_rng.h"
#include "train/data/dataset.h"

namespace vg {

// Resampling of RandAugment's geometric ops. timm (PIL) uses the training interpolation, which
// is bicubic in the DeiT/ConViT recipe; PIL's affine bicubic is the a = -1 cubic.
enum class Interp { Nearest, Bilinear, Bicubic };
// Random-erasing fill: 'const' zeros, 'rand' one N(0,1) value per channel, 'pixel' N(0,1) per
// pixel.
enum class EraseMode { Const, Rand, Pixel };
// Which statistics normalise the input: the dataset's own (as CCT, Lee et al. and the
// structured-init code do) or ImageNet's (what the DeiT/ConViT code does on CIFAR too).
enum class NormChoice { Dataset, ImageNet };

struct AugmentConfig {
    // -- crop and flip (RandomCrop(32, padding=4) + RandomHorizontalFlip, DeiT's CIFAR path) --
    int crop_padding = 4;     // zero padding on every side before a random crop back to HxW; 0: off
    double hflip_prob = 0.5;  // probability of a horizontal flip

    // -- RandAugment (DeiT main.py: "rand-m9-mstd0.5-inc1") --
    bool randaugment = true;
    int ra_num_ops = 2;              // ops per image, drawn uniformly with replacement
    double ra_magnitude = 9.0;       // m, on timm's 0..10 scale
    double ra_magnitude_std = 0.5;   // per-application magnitude ~ N(m, std), clipped to [0, 10]
    bool ra_increasing = true;       // inc1: the "Increasing" op variants
    double ra_op_prob = 0.5;         // each drawn op is applied with this probability
    double ra_translate_pct = 0.45;  // TranslateXRel/YRel: up to this fraction of the side
    Interp ra_interp = Interp::Bicubic;

    // -- normalisation --
    NormChoice norm = NormChoice::Dataset;

    // -- random erasing (DeiT main.py: reprob 0.25, remode pixel, recount 1), after normalisation
    // --
    double erase_prob = 0.25;
    EraseMode erase_mode = EraseMode::Pixel;
    int erase_count = 1;
    double erase_min_area = 0.02, erase_max_area = 1.0 / 3.0;  // fraction of the image area
    double erase_min_aspect = 0.3;                             // aspect log-uniform in [min, 1/min]

    // -- mixup / cutmix (DeiT main.py: Beta alphas 0.8 / 1.0, prob 1.0, switch 0.5,
    // mode batch; DeiT Table 9 calls the alphas "prob") --
    double mixup_alpha = 0.8;        // Beta(alpha, alpha) for mixup; 0: no mixup
    double cutmix_alpha = 1.0;       // Beta(alpha, alpha) for cutmix; 0: no cutmix
    double mix_prob = 1.0;           // probability a batch is mixed at all
    double mix_switch_prob = 0.5;    // with both on: probability of cutmix instead of mixup
    bool cutmix_correct_lam = true;  // lambda recomputed from the clipped box area
    int64_t mixup_off_epoch = 0;     // mixing stops from this epoch on (CCT: 175); 0: never

    // -- label smoothing, folded into the targets (DeiT: 0.1; off value eps/K, on 1-eps+eps/K) --
    double label_smoothing = 0.1;

    // -- sampling (DeiT's repeated augmentation, RASampler; off by default on one
    // device) --
    int repeats = 1;          // 3 = DeiT's RASampler; 1 = plain seeded shuffle
    int repeat_replicas = 1;  // RASampler's num_replicas (this process acts as rank 0)

    // The recipe with every random transform switched off (eval / smoke tests).
    static AugmentConfig none();
    // Whether batches carry soft targets (mixing possible, or smoothing on).
    bool soft_targets() const { return mixing_enabled(0) || label_smoothing > 0; }
    bool mixing_enabled(int64_t epoch) const {
        return mix_prob > 0 && (mixup_alpha > 0 || cutmix_alpha > 0) &&
               (mixup_off_epoch <= 0 || epoch < mixup_off_epoch);
    }
    // One line with every knob (logs, checkpoints).
    std::string describe() const;
};

// The statistics `cfg.norm` selects for a dataset.
NormStats select_stats(const AugmentConfig& cfg, const NormStats& dataset_stats);
// RandAugment's fill colour: the normalisation mean in 0..255, rounded (timm's img_mean).
std::array<uint8_t, 3> fill_color(const NormStats& stats);

// --- per-image transforms (uint8 CHW) ------------------------------------------------------------
// Pads `pad` zeros on every side and crops an HxW window at (top, left) of the padded image.
ImageU8 crop_padded(const ImageU8& img, int pad, int top, int left);
ImageU8 hflip(const ImageU8& img);
// (v / 255 - mean) / std per channel into out[C*H*W].
void normalize(const ImageU8& img, const NormStats& stats, float* out);
// Random erasing of a normalised float CHW image in place (timm RandomErasing, one image).
void random_erase(float* chw, ImageShape s, const AugmentConfig& cfg, SampleRng& rng);

// The whole train-mode chain for one image: crop -> flip -> RandAugment -> normalise -> erase.
void augment_train(const ImageU8& img, const AugmentConfig& cfg, const NormStats& stats,
                   SampleRng& rng, float* out);
// Eval mode: normalisation only.
inline void augment_eval(const ImageU8& img, const NormStats& stats, float* out) {
    normalize(img, stats, out);
}

// --- batch mixing (timm Mixup, mode 'batch'; partner of sample i is sample B-1-i)
// -----------------
struct MixParams {
    double lam = 1.0;  // weight of the sample's own label
    bool cutmix = false;
    int y0 = 0, y1 = 0, x0 = 0, x1 = 0;  // cutmix box [y0, y1) x [x0, x1)
};
// Draws one batch's lambda (and box) for images of size h x w.
MixParams draw_mix(const AugmentConfig& cfg, int64_t epoch, int h, int w, SampleRng& rng);
// Mixes x: [B, C, H, W] in place with the reversed batch.
void apply_mix(float* x, int64_t b, ImageShape s, const MixParams& mp);
// targets: [B, K] = lam * smooth(y) + (1 - lam) * smooth(flip(y)).
void mix_targets(const int64_t* labels, int64_t b, int k, double lam, double smoothing,
                 float* targets);

}  // namespace vg
