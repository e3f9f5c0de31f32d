// Training for a study: class-balanced subsets whose runs take the full set's number of steps,
// and the internals recorded every epoch.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/helpers.h"
#include "tests/train/train_fixtures.h"
#include "train/probe/study.h"
#include "train/run/loader.h"
#include "train/run/records.h"

using namespace vg;

TEST_CASE("train_fraction: scaled epochs give a subset run the full run's number of steps") {
    test::TempDir dir("vg_subset_run");
    TrainData data = test::synthetic_data();  // 64 training images, 16 per class
    TrainConfig c = test::tiny_config(dir.file("run"));
    c.ema = false;
    c.checkpoint_every = 100000;  // only at the end (the last epoch is always saved)
    c.epochs = 2;                 // full set: 64 / 16 = 4 steps per epoch, 8 steps
    c.train_fraction = 0.25;      // 4 per class: 16 images, 1 step per epoch
    c.epochs_scale_with_fraction = true;
    c.warmup_epochs = 1;
    c.augment.mixup_off_epoch = 1;
    Trainer t(c, data);
    CHECK(t.config().epochs == 8);
    CHECK(t.config().warmup_epochs == 4.0);
    CHECK(t.config().augment.mixup_off_epoch == 4);
    TrainSummary s = t.run();
    CHECK(s.steps == 8);
    CHECK(s.epochs_done == 8);
    CHECK(t.history().back().test.count == 32);  // the test set is always complete
    // The run directory records the knobs as given, so a resume scales them the same way.
    nlohmann::json saved;
    std::ifstream(dir.file("run/config.json")) >> saved;
    CHECK(saved["epochs"] == "2");
    CHECK(saved["train_fraction"] == "0.25");
    CHECK(saved["epochs_scale_with_fraction"] == "true");

    // Without scaling the epochs stay; whole-set runs ignore the scaling.
    c.epochs_scale_with_fraction = false;
    CHECK(Trainer(c, data).config().epochs == 2);
    c.train_fraction = 1.0;
    c.epochs_scale_with_fraction = true;
    CHECK(Trainer(c, data).config().epochs == 2);

    // Fractional results round to whole epochs: 3 per class = 12 images, 0 full batches of 16.
    c.train_fraction = 0.2;
    CHECK_THROWS_WITH_AS(Trainer(c, data), doctest::Contains("fewer than one batch of 16"), Error);
    c.batch_size = 12;  // full: 5 steps per epoch, subset: 1 -> 2 * 5 / 1 = 10 epochs
    CHECK(Trainer(c, data).config().epochs == 10);
    c.train_fraction = 1.5;
    CHECK_THROWS_WITH_AS(Trainer(c, data), doctest::Contains("train_fraction"), Error);
}

TEST_CASE("track_internals: each epoch records non-locality, gates and centres per layer") {
    test::TempDir dir("vg_track_internals");
    TrainData data = test::synthetic_data();  // 8 x 8 images: a 2 x 2 patch grid
    TrainConfig c = test::tiny_config(dir.file("run"));
    c.ema = false;
    c.checkpoint_every = 100000;
    c.track_internals = true;
    c.internals_images = 8;
    Trainer t(c, data);
    t.run();
    std::vector<EpochRecord> log = read_metrics_log(dir.file("run/metrics.jsonl"));
    REQUIRE(log.size() == 2);
    REQUIRE(log[0].internals_init);  // before the first step
    CHECK_FALSE(log[1].internals_init);
    for (const EpochRecord& r : log) {
        REQUIRE(r.internals);
        const probe::Study& s = *r.internals;
        CHECK(s.images == 8);
        CHECK(s.grid_side == 2);
        REQUIRE(s.layers.size() == 4);  // convit_cifar_micro: 3 GPSA + 1 MHSA
        for (size_t l = 0; l < 3; ++l) {
            CHECK(s.layers[l].kind == "GPSA");
            test::check_close(s.layers[l].gate, r.gates[l], 1e-6);
            CHECK(s.layers[l].centres.size() == 4);
        }
        CHECK(s.layers[3].gate.empty());
        for (const probe::LayerStudy& l : s.layers)
            for (double d : l.nonlocality) CHECK((d >= 0 && d <= std::sqrt(2.0)));
    }
    // At init every gate is sigmoid(1) and every centre sqrt(0.5) away (H = 4, alpha = 1).
    for (size_t l = 0; l < 3; ++l)
        for (size_t h = 0; h < 4; ++h) {
            CHECK(log[0].internals_init->layers[l].gate[h] ==
                  doctest::Approx(0.7310586).epsilon(1e-6));
            CHECK(log[0].internals_init->layers[l].centres[h].distance ==
                  doctest::Approx(std::sqrt(0.5)));
        }
    // The last record is the study of the final model on the first 8 test images.
    Tensor x = eval_images(*data.test, 8, select_stats(c.augment, data.test->stats()));
    probe::Study now = probe::study(t.model(), x);
    for (size_t l = 0; l < now.layers.size(); ++l)
        test::check_close(log[1].internals->layers[l].nonlocality, now.layers[l].nonlocality,
                          1e-12);

    c.internals_images = 33;  // the synthetic test set has 32 images
    CHECK_THROWS_WITH_AS(Trainer(c, data),
                         doctest::Contains("internals_images: must lie in [1, 32]"), Error);
    c.internals_images = 8;
    c.internals_input = "logits";
    CHECK_THROWS_WITH_AS(
        Trainer(c, data),
        doctest::Contains("internals_input = 'logits' is not known (allowed: activations | "
                          "patch_embed)"),
        Error);
}
