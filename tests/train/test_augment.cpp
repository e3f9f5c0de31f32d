// Augmentation and loader: crop/flip/normalise against direct index formulas, RandAugment op
// properties, random erasing, mixup/cutmix targets, epoch order, and loader determinism/resume.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <set>

#include "tests/helpers.h"
#include "train/augment/augment.h"
#include "train/augment/randaugment.h"
#include "train/run/loader.h"

using namespace vg;

namespace {

ImageU8 pattern(ImageShape s, int salt = 0) {
    ImageU8 img(s);
    for (int c = 0; c < s.c; ++c)
        for (int y = 0; y < s.h; ++y)
            for (int x = 0; x < s.w; ++x)
                img.at(c, y, x) = uint8_t((c * 71 + y * 13 + x * 7 + salt * 29 + x * y) & 255);
    return img;
}

std::shared_ptr<InMemoryDataset> synthetic(int n, ImageShape s = {3, 32, 32}, int classes = 10) {
    std::vector<std::string> names;
    for (int k = 0; k < classes; ++k) names.push_back(fmt::format("c{}", k));
    auto ds = std::make_shared<InMemoryDataset>("synthetic", s, names, cifar10_stats());
    for (int i = 0; i < n; ++i) ds->add(pattern(s, i).data.data(), (i * 7) % classes);
    return ds;
}

std::vector<float> run_train(const ImageU8& img, const AugmentConfig& cfg, uint64_t seed,
                             uint64_t item) {
    std::vector<float> out(size_t(img.shape.numel()));
    SampleRng rng(seed, RngStream::Sample, 0, item);
    augment_train(img, cfg, cifar10_stats(), rng, out.data());
    return out;
}

const RaOp kAllOps[] = {RaOp::AutoContrast, RaOp::Equalize,      RaOp::Invert,       RaOp::Rotate,
                        RaOp::Posterize,    RaOp::Solarize,      RaOp::SolarizeAdd,  RaOp::Color,
                        RaOp::Contrast,     RaOp::Brightness,    RaOp::Sharpness,    RaOp::ShearX,
                        RaOp::ShearY,       RaOp::TranslateXRel, RaOp::TranslateYRel};

}  // namespace

TEST_CASE("augment: crop with zero padding and horizontal flip move pixels as expected") {
    ImageU8 img = pattern({3, 32, 32});
    CHECK(crop_padded(img, 4, 4, 4).data == img.data);  // centre offset = identity
    for (auto [top, left] : {std::pair{0, 0}, {8, 8}, {1, 7}, {6, 2}}) {
        ImageU8 out = crop_padded(img, 4, top, left);
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < 32; ++y)
                for (int x = 0; x < 32; ++x) {
                    int sy = y + top - 4, sx = x + left - 4;
                    bool in = sy >= 0 && sy < 32 && sx >= 0 && sx < 32;
                    CHECK(out.at(c, y, x) == (in ? img.at(c, sy, sx) : 0));
                }
    }
    CHECK_THROWS_WITH_AS(crop_padded(img, 4, 9, 0), doctest::Contains("crop_padded"), vg::Error);
    ImageU8 f = hflip(img);
    for (int y = 0; y < 32; y += 3)
        for (int x = 0; x < 32; ++x) CHECK(f.at(1, y, x) == img.at(1, y, 31 - x));
    CHECK(hflip(f).data == img.data);
}

TEST_CASE("augment: normalisation uses (v/255 - mean)/std per channel") {
    ImageU8 img = pattern({3, 4, 4});
    std::vector<float> out(48);
    normalize(img, imagenet_stats(), out.data());
    const double mean[3] = {0.485, 0.456, 0.406}, sd[3] = {0.229, 0.224, 0.225};
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 16; ++i)
            CHECK(out[size_t(c * 16 + i)] ==
                  doctest::Approx((img.plane(c)[i] / 255.0 - mean[c]) / sd[c]).epsilon(1e-5));
    AugmentConfig cfg;
    CHECK(select_stats(cfg, cifar10_stats()).mean[0] ==
          0.4914f);  // the CIFAR default: dataset statistics
    cfg.norm = NormChoice::ImageNet;
    CHECK(select_stats(cfg, cifar10_stats()).mean[0] == 0.485f);
    auto fill = fill_color(imagenet_stats());  // timm: round(255 * mean)
    CHECK(fill == std::array<uint8_t, 3>{124, 116, 104});
}

TEST_CASE("augment: the train chain is deterministic for a seed and varies across seeds") {
    ImageU8 img = pattern({3, 32, 32});
    AugmentConfig cfg;  // the full CIFAR recipe
    CHECK(run_train(img, cfg, 1, 5) == run_train(img, cfg, 1, 5));
    CHECK(run_train(img, cfg, 1, 5) != run_train(img, cfg, 2, 5));
    CHECK(run_train(img, cfg, 1, 5) != run_train(img, cfg, 1, 6));
    // With every random transform off the chain is plain normalisation.
    std::vector<float> ref(3072);
    normalize(img, cifar10_stats(), ref.data());
    CHECK(run_train(img, AugmentConfig::none(), 3, 0) == ref);
}

TEST_CASE(
    "randaugment: every op keeps the shape - identity at magnitude 0 where timm defines one") {
    ImageU8 img = pattern({3, 32, 32}, 3);
    std::array<uint8_t, 3> fill{125, 123, 114};
    for (bool inc : {true, false})
        for (RaOp op : kAllOps)
            for (double m : {0.0, 4.5, 9.0, 10.0})
                for (Interp ip : {Interp::Nearest, Interp::Bilinear, Interp::Bicubic}) {
                    SampleRng rng(11, RngStream::Sample, 0, uint64_t(op));
                    double arg = ra_level_to_arg(op, m, inc, 0.45, rng);
                    ImageU8 out = ra_apply(op, img, arg, fill, ip);
                    CAPTURE(ra_op_name(op, inc));
                    CHECK(out.shape == img.shape);
                    CHECK(out.data.size() == img.data.size());
                }
    // Magnitude 0 is the identity for the geometric ops, the Increasing enhance ops,
    // SolarizeIncreasing (threshold 256) and SolarizeAdd (add 0).
    for (RaOp op : {RaOp::Rotate, RaOp::ShearX, RaOp::ShearY, RaOp::TranslateXRel,
                    RaOp::TranslateYRel, RaOp::Color, RaOp::Contrast, RaOp::Brightness,
                    RaOp::Sharpness, RaOp::Solarize, RaOp::SolarizeAdd})
        for (Interp ip : {Interp::Nearest, Interp::Bilinear, Interp::Bicubic}) {
            SampleRng rng(5, RngStream::Sample, 0, 0);
            CAPTURE(ra_op_name(op, true));
            CHECK(ra_apply(op, img, ra_level_to_arg(op, 0.0, true, 0.45, rng), fill, ip).data ==
                  img.data);
        }
    // The grey-level ops against direct formulas.
    ImageU8 inv = ra_apply(RaOp::Invert, img, 0, fill, Interp::Nearest);
    ImageU8 sol = ra_apply(RaOp::Solarize, img, 128, fill, Interp::Nearest);
    ImageU8 post = ra_apply(RaOp::Posterize, img, 2, fill, Interp::Nearest);
    ImageU8 add = ra_apply(RaOp::SolarizeAdd, img, 100, fill, Interp::Nearest);
    ImageU8 dark = ra_apply(RaOp::Brightness, img, 0.5, fill, Interp::Nearest);
    for (size_t i = 0; i < img.data.size(); ++i) {
        int v = img.data[i];
        CHECK(inv.data[i] == 255 - v);
        CHECK(sol.data[i] == (v < 128 ? v : 255 - v));
        CHECK(post.data[i] == (v & 0xC0));
        CHECK(add.data[i] == (v < 128 ? std::min(255, v + 100) : v));
        CHECK(dark.data[i] == int(0.5f * float(v)));
    }
    // PosterizeIncreasing keeps 4 - int(m/10*4) bits: m = 10 keeps none.
    SampleRng rng(1, RngStream::Sample, 0, 0);
    CHECK(ra_level_to_arg(RaOp::Posterize, 10.0, true, 0.45, rng) == 0);
    CHECK(ra_level_to_arg(RaOp::Posterize, 0.0, true, 0.45, rng) == 4);
    CHECK(ra_level_to_arg(RaOp::Solarize, 9.0, true, 0.45, rng) == 256 - int(0.9 * 256));
    double r = ra_level_to_arg(RaOp::Rotate, 9.0, true, 0.45, rng);
    CHECK(std::abs(r) == doctest::Approx(27.0));
    double e = ra_level_to_arg(RaOp::Contrast, 5.0, true, 0.45, rng);
    CHECK(std::abs(e - 1.0) == doctest::Approx(0.45));
}

TEST_CASE("randaugment: geometry and histogram ops against direct formulas") {
    ImageU8 img = pattern({3, 32, 32}, 1);
    std::array<uint8_t, 3> fill{7, 8, 9};
    // PIL rotates counter-clockwise about the centre: out(y, x) = in(x, 31 - y) for 90 degrees.
    ImageU8 rot = ra_apply(RaOp::Rotate, img, 90.0, fill, Interp::Nearest);
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x) CHECK(rot.at(c, y, x) == img.at(c, x, 31 - y));
    // Translating by +4 px (0.125 of 32) reads x + 4; columns past the edge take the fill.
    ImageU8 tx = ra_apply(RaOp::TranslateXRel, img, 0.125, fill, Interp::Bilinear);
    ImageU8 ty = ra_apply(RaOp::TranslateYRel, img, -0.125, fill, Interp::Bicubic);
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x) {
                CHECK(tx.at(c, y, x) == (x + 4 < 32 ? img.at(c, y, x + 4) : fill[size_t(c)]));
                CHECK(ty.at(c, y, x) == (y - 4 >= 0 ? img.at(c, y - 4, x) : fill[size_t(c)]));
            }
    // ShearX by 1/8 with nearest: output (x, y) reads floor(x + .5 + (y + .5) / 8).
    ImageU8 sh = ra_apply(RaOp::ShearX, img, 0.125, fill, Interp::Nearest);
    for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
            int sx = int(std::floor(x + 0.5 + (y + 0.5) * 0.125));
            CHECK(sh.at(0, y, x) == (sx < 32 ? img.at(0, y, sx) : fill[0]));
        }
    // AutoContrast stretches each channel to [0, 255]; Equalize flattens a two-level channel.
    ImageU8 lowc({1, 4, 4});
    for (int i = 0; i < 16; ++i) lowc.data[size_t(i)] = uint8_t(50 + (i % 4) * 10);
    ImageU8 ac = ra_apply(RaOp::AutoContrast, lowc, 0, fill, Interp::Nearest);
    CHECK(*std::min_element(ac.data.begin(), ac.data.end()) == 0);
    CHECK(*std::max_element(ac.data.begin(), ac.data.end()) == 255);
    CHECK(ac.data[1] == int(60 * (255.0 / 30) - 50 * (255.0 / 30)));
    ImageU8 eq = ra_apply(RaOp::Equalize, lowc, 0, fill, Interp::Nearest);
    CHECK(eq.data.size() == 16);
    ImageU8 flat({3, 8, 8}, 77);
    CHECK(ra_apply(RaOp::Equalize, flat, 0, fill, Interp::Nearest).data == flat.data);
    CHECK(ra_apply(RaOp::AutoContrast, flat, 0, fill, Interp::Nearest).data == flat.data);
    // Colour factor 0 is the PIL luma grey image.
    ImageU8 grey = ra_apply(RaOp::Color, img, 0.0, fill, Interp::Nearest);
    for (int i = 0; i < 1024; i += 17) {
        uint32_t l =
            (uint32_t(img.data[size_t(i)]) * 19595 + uint32_t(img.data[size_t(1024 + i)]) * 38470 +
             uint32_t(img.data[size_t(2048 + i)]) * 7471 + 0x8000) >>
            16;
        for (int c = 0; c < 3; ++c) CHECK(grey.data[size_t(c * 1024 + i)] == l);
    }
}

TEST_CASE("augment: random erasing replaces one rectangle within the area bounds") {
    AugmentConfig cfg = AugmentConfig::none();
    cfg.erase_prob = 1.0;
    for (uint64_t seed = 0; seed < 20; ++seed) {
        std::vector<float> x(3 * 32 * 32, 0.25f);
        SampleRng rng(seed, RngStream::Sample, 0, 0);
        random_erase(x.data(), {3, 32, 32}, cfg, rng);
        int y0 = 32, y1 = -1, x0 = 32, x1 = -1, changed = 0;
        for (int y = 0; y < 32; ++y)
            for (int xx = 0; xx < 32; ++xx)
                if (x[size_t(y * 32 + xx)] != 0.25f) {
                    ++changed;
                    y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, xx),
                    x1 = std::max(x1, xx);
                }
        REQUIRE(changed > 0);
        CHECK(changed == (y1 - y0 + 1) * (x1 - x0 + 1));  // a filled rectangle
        double frac = changed / 1024.0;
        CHECK(frac >= 0.01);  // U(0.02, 1/3) of the area, sides rounded
        CHECK(frac <= 0.37);
    }
    cfg.erase_prob = 0.0;
    std::vector<float> x(3072, 0.5f);
    SampleRng rng(0, RngStream::Sample, 0, 0);
    random_erase(x.data(), {3, 32, 32}, cfg, rng);
    CHECK(std::all_of(x.begin(), x.end(), [](float v) { return v == 0.5f; }));
}

TEST_CASE("augment: mixup and cutmix targets sum to 1 and cutmix lambda is the box area") {
    const int b = 6, k = 10;
    const ImageShape s{3, 8, 8};
    std::vector<int64_t> labels = {0, 3, 3, 7, 9, 1};
    for (uint64_t seed = 0; seed < 40; ++seed) {
        AugmentConfig cfg;
        SampleRng rng(seed, RngStream::Mix, 0, 0);
        MixParams mp = draw_mix(cfg, 0, s.h, s.w, rng);
        CHECK(mp.lam >= 0.0);
        CHECK(mp.lam <= 1.0);
        std::vector<float> x(size_t(b * s.numel()));
        for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 97) * 0.5f - float(i / 384);
        std::vector<float> orig = x;
        apply_mix(x.data(), b, s, mp);
        if (mp.cutmix) {
            CHECK(mp.lam ==
                  doctest::Approx(1.0 - double((mp.y1 - mp.y0) * (mp.x1 - mp.x0)) / (s.h * s.w)));
            for (int i = 0; i < b; ++i)
                for (int c = 0; c < 3; ++c)
                    for (int y = 0; y < s.h; ++y)
                        for (int xx = 0; xx < s.w; ++xx) {
                            bool in = y >= mp.y0 && y < mp.y1 && xx >= mp.x0 && xx < mp.x1;
                            int src = in ? b - 1 - i : i;
                            size_t off = size_t((c * s.h + y) * s.w + xx);
                            CHECK(x[size_t(i * s.numel()) + off] ==
                                  orig[size_t(src * s.numel()) + off]);
                        }
        } else {
            for (int i = 0; i < b; ++i)
                for (int64_t j = 0; j < s.numel(); j += 13) {
                    double want = mp.lam * orig[size_t(i * s.numel() + j)] +
                                  (1 - mp.lam) * orig[size_t((b - 1 - i) * s.numel() + j)];
                    CHECK(x[size_t(i * s.numel() + j)] == doctest::Approx(want).epsilon(1e-5));
                }
        }
        std::vector<float> t(size_t(b * k));
        mix_targets(labels.data(), b, k, mp.lam, 0.1, t.data());
        for (int i = 0; i < b; ++i) {
            double sum = 0;
            for (int j = 0; j < k; ++j) {
                // Independent formula: lam * smooth(y_i) + (1 - lam) * smooth(y_{b-1-i}).
                double off = 0.1 / k, on = 0.9 + off;
                double want = mp.lam * (j == labels[size_t(i)] ? on : off) +
                              (1 - mp.lam) * (j == labels[size_t(b - 1 - i)] ? on : off);
                CHECK(t[size_t(i * k + j)] == doctest::Approx(want).epsilon(1e-6));
                sum += t[size_t(i * k + j)];
            }
            CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));
        }
    }
    // Mixing switches off from mixup_off_epoch on, and with mix_prob 0.
    AugmentConfig cfg;
    cfg.mixup_off_epoch = 3;
    SampleRng rng(0, RngStream::Mix, 0, 0);
    CHECK(draw_mix(cfg, 3, 8, 8, rng).lam == 1.0);
    cfg.mixup_off_epoch = 0;
    cfg.mix_prob = 0;
    CHECK(draw_mix(cfg, 0, 8, 8, rng).lam == 1.0);
    // Only cutmix on: always a box.
    cfg = AugmentConfig();
    cfg.mixup_alpha = 0;
    CHECK(draw_mix(cfg, 0, 8, 8, rng).cutmix);
}

TEST_CASE("loader: epoch order is a seeded permutation - RASampler repeats each index 3 times") {
    auto o = epoch_order(100, 7, 0, true);
    std::vector<int64_t> sorted = o;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> iota(100);
    std::iota(iota.begin(), iota.end(), 0);
    CHECK(sorted == iota);
    CHECK(o == epoch_order(100, 7, 0, true));
    CHECK(o != epoch_order(100, 7, 1, true));
    CHECK(o != epoch_order(100, 8, 0, true));
    CHECK(epoch_order(100, 7, 0, false) == iota);
    auto ra = epoch_order(600, 3, 2, true, 3);
    CHECK(ra.size() == 512);  // floor(600 / 256) * 256
    for (size_t i = 0; i + 2 < ra.size(); i += 3) CHECK((ra[i] == ra[i + 1] && ra[i] == ra[i + 2]));
    CHECK(std::set<int64_t>(ra.begin(), ra.end()).size() == 171);  // ceil(512 / 3) distinct images
    CHECK(epoch_order(600, 3, 2, true, 3, 4).size() == 128);  // world of 4: each rank a quarter
}

TEST_CASE("loader: batches are identical for 0, 1 and 2 workers, and differ across seeds") {
    auto ds = synthetic(70);
    LoaderConfig cfg;
    cfg.batch_size = 16;
    cfg.seed = 123;
    std::vector<std::vector<double>> ref;
    for (int workers : {0, 1, 2}) {
        cfg.workers = workers;
        Loader loader(ds, cfg);
        CHECK(loader.batches_per_epoch() == 4);  // drop_last
        std::vector<std::vector<double>> got;
        for (int64_t epoch : {0, 1}) {
            loader.start_epoch(epoch);
            Batch b;
            while (loader.next(b)) {
                CHECK(b.images.shape() == Shape{16, 3, 32, 32});
                CHECK(b.labels.dtype() == DType::I64);
                REQUIRE(b.targets.defined());
                CHECK(b.targets.shape() == Shape{16, 10});
                std::vector<double> t = b.targets.to_vector();
                for (int i = 0; i < 16; ++i)
                    CHECK(std::accumulate(t.begin() + i * 10, t.begin() + i * 10 + 10, 0.0) ==
                          doctest::Approx(1.0).epsilon(1e-5));
                got.push_back(b.images.to_vector());
                got.push_back(t);
            }
        }
        CHECK(got.size() == 16);
        if (ref.empty())
            ref = got;
        else
            CHECK(got == ref);
    }
    cfg.seed = 124;
    Loader other(ds, cfg);
    Batch b;
    other.start_epoch(0);
    REQUIRE(other.next(b));
    CHECK(b.images.to_vector() != ref[0]);
    // make_batch builds the same batch synchronously.
    Loader again(ds, [&] {
        LoaderConfig c = cfg;
        c.seed = 123;
        return c;
    }());
    CHECK(again.make_batch(1, 2).images.to_vector() == ref[2 * (4 + 2)]);
}

TEST_CASE("loader: resuming from a mid-epoch state gives the same subsequent batches") {
    auto ds = synthetic(70);
    LoaderConfig cfg;
    cfg.batch_size = 10;
    cfg.seed = 9;
    cfg.workers = 2;
    cfg.aug.repeats = 3;  // RASampler order: 70 < 256 keeps 70 positions
    Loader a(ds, cfg);
    a.start_epoch(2);
    Batch b;
    REQUIRE(a.next(b));
    REQUIRE(a.next(b));
    LoaderState st = a.state();
    CHECK(st.epoch == 2);
    CHECK(st.batch == 2);
    std::vector<std::vector<double>> rest;
    while (a.next(b)) rest.push_back(b.images.to_vector());
    CHECK(rest.size() == 5);
    CHECK(a.state().batch == 7);
    Loader r(ds, cfg);
    r.seek(st);
    for (const auto& want : rest) {
        REQUIRE(r.next(b));
        CHECK(b.images.to_vector() == want);
    }
    CHECK(!r.next(b));
}

TEST_CASE("loader: eval mode normalises only, keeps dataset order and the last partial batch") {
    auto ds = synthetic(25);
    Loader loader(ds, LoaderConfig::eval(10, 2));
    CHECK(loader.batches_per_epoch() == 3);
    Batch b;
    int64_t seen = 0;
    loader.start_epoch(0);
    while (loader.next(b)) {
        CHECK(!b.targets.defined());
        int64_t n = b.labels.numel();
        std::vector<double> x = b.images.to_vector();
        for (int64_t i = 0; i < n; ++i) {
            CHECK(b.indices[size_t(i)] == seen + i);
            CHECK(b.labels.to_vector_i64()[size_t(i)] == ds->label(seen + i));
            std::vector<float> ref(3072);
            normalize(ds->get(seen + i).image, cifar10_stats(), ref.data());
            for (int j = 0; j < 3072; j += 101)
                CHECK(x[size_t(i * 3072 + j)] == double(ref[size_t(j)]));
        }
        seen += n;
    }
    CHECK(seen == 25);
    CHECK_THROWS_WITH_AS(Loader(ds,
                                [] {
                                    LoaderConfig c;
                                    c.batch_size = 0;
                                    return c;
                                }()),
                         doctest::Contains("batch_size"), vg::Error);
}

TEST_CASE("randaugment: ops match Pillow 9.4 on a synthetic image (checksums from PIL)") {
    // Reference: PIL.Image / ImageOps / ImageEnhance applied, as timm does, to pattern({3,32,32},
    // 2) in HWC layout with fillcolor (125, 123, 114); sums taken over the CHW-flattened output,
    // the second one weighted by (flat index + 1) so misplaced pixels show.
    struct Ref {
        RaOp op;
        double arg;
        Interp interp;
        int64_t sum, weighted;
    };
    const Ref refs[] = {
        {RaOp::AutoContrast, 0.0, Interp::Nearest, 392704, 597099776},
        {RaOp::Equalize, 0.0, Interp::Nearest, 423359, 616722014},
        {RaOp::Color, 1.7, Interp::Nearest, 393744, 620044118},
        {RaOp::Contrast, 0.3, Interp::Nearest, 391639, 599869738},
        {RaOp::Sharpness, 1.8, Interp::Nearest, 392832, 598026966},
        {RaOp::Rotate, 27.0, Interp::Bicubic, 386771, 587091962},
        {RaOp::Rotate, -13.5, Interp::Bilinear, 388265, 588763263},
        {RaOp::Rotate, 20.0, Interp::Nearest, 387995, 588658239},
        {RaOp::ShearX, -0.17, Interp::Bicubic, 389205, 591422627},
        {RaOp::ShearY, 0.2, Interp::Nearest, 390190, 592576620},
        {RaOp::ShearY, -0.23, Interp::Bilinear, 389028, 591002240},
        {RaOp::TranslateXRel, 0.3, Interp::Bilinear, 383803, 583623727},
        {RaOp::TranslateYRel, -0.21, Interp::Bicubic, 390110, 595422607},
    };
    ImageU8 img = pattern({3, 32, 32}, 2);
    for (const Ref& r : refs) {
        ImageU8 out = ra_apply(r.op, img, r.arg, {125, 123, 114}, r.interp);
        int64_t sum = 0, weighted = 0;
        for (size_t i = 0; i < out.data.size(); ++i) {
            sum += out.data[i];
            weighted += int64_t(i + 1) * out.data[i];
        }
        CAPTURE(ra_op_name(r.op, false));
        CAPTURE(r.arg);
        CHECK(sum == r.sum);
        CHECK(weighted == r.weighted);
    }
}

TEST_CASE(
    "loader: one-channel 28x28 images (Fashion-MNIST shape) go through the full train chain") {
    auto ds = synthetic(12, {1, 28, 28});
    LoaderConfig cfg;
    cfg.batch_size = 4;
    cfg.workers = 1;
    Loader loader(ds, cfg);
    Batch b;
    loader.start_epoch(0);
    int n = 0;
    while (loader.next(b)) {
        CHECK(b.images.shape() == Shape{4, 1, 28, 28});
        for (double v : b.images.to_vector()) CHECK(std::isfinite(v));
        ++n;
    }
    CHECK(n == 3);
}
