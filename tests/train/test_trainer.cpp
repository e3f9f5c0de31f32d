// The training loop: NaN/Inf detection with the step number, config parsing, evaluation
// metrics, run outputs, and a smoke run on a slice of the real CIFAR-10 when it is present.
#include <filesystem>
#include <fstream>

#include "autograd/grad_mode.h"
#include "tests/helpers.h"
#include "tests/train/train_fixtures.h"
#include "train/data/data_paths.h"
#include "train/run/checkpoint.h"
#include "train/run/config.h"
#include "train/run/plot.h"
#include "train/run/trainer.h"

using namespace vg;
using test::read_text;
namespace fs = std::filesystem;

TEST_CASE("a NaN loss stops the run with its step number and keeps the last good checkpoint") {
    test::TempDir dir("vg_trainer_nan");
    TrainData data = test::synthetic_data();
    TrainConfig cfg = test::tiny_config(dir.file("run"));
    cfg.stop_after = 1;
    Trainer(cfg, data).run();  // one good epoch: 4 steps, checkpoint written
    std::string ckpt = dir.file("run/checkpoint.safetensors");
    std::string good = read_text(ckpt);

    cfg.stop_after = 0;
    cfg.resume = ckpt;
    Trainer t(cfg, data);
    {
        NoGradGuard no_grad;
        for (auto& [name, p] : t.model().named_parameters())
            if (name == "head.weight") p.fill_(NAN);
    }
    try {
        t.run();
        FAIL("no error on a NaN loss");
    } catch (const DivergedError& e) {
        CHECK(e.step == 5);
        CHECK(std::string(e.what()).find("at step 5") != std::string::npos);
    }
    CHECK(read_text(ckpt) == good);
}

TEST_CASE("config files and keys") {
    TrainConfig c;
    CHECK(c.model == "convit_cifar_tiny");
    CHECK(c.effective_lr() == doctest::Approx(5e-4 * 256 / 512));
    apply_config_text(c,
                      "# recipe\nlr = 1e-3\nepochs=7  # short\nema = true\nremode = const\n"
                      "model = deit_cifar_tiny\n",
                      "test.cfg");
    CHECK(c.lr == 1e-3);
    CHECK(c.epochs == 7);
    CHECK(c.ema);
    CHECK(c.augment.erase_mode == EraseMode::Const);
    CHECK(c.model == "deit_cifar_tiny");
    apply_config_text(c, R"({"batch_size": 64, "mixup": 0, "nesterov": true, "device": "cuda"})",
                      "j");
    CHECK(c.batch_size == 64);
    CHECK(c.augment.mixup_alpha == 0);
    CHECK(c.nesterov);
    CHECK(c.device == "cuda");
    set_knob(c, "weight-decay", "0.1");  // CLI spelling
    CHECK(c.weight_decay == 0.1);
    // Every knob survives a JSON round trip (checkpoints store the config this way).
    TrainConfig back;
    apply_config_text(back, config_to_json(c), "round trip");
    CHECK(config_to_json(back) == config_to_json(c));

    CHECK_THROWS_WITH_AS(apply_config_text(c, "lr = fast\n", "x.cfg"), doctest::Contains("x.cfg:1"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(set_knob(c, "learning_rate", "1"), doctest::Contains("unknown key"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(apply_config_text(c, "epochs\n", "y.cfg"),
                         doctest::Contains("key = value"), vg::Error);
    CHECK_THROWS_WITH_AS(set_knob(c, "remode", "zeros"), doctest::Contains("const | rand | pixel"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(apply_config_file(c, "/nonexistent/x.cfg"), doctest::Contains("not found"),
                         vg::Error);
}

TEST_CASE("a run writes metrics, plots and an evaluable checkpoint") {
    test::TempDir dir("vg_trainer_outputs");
    TrainData data = test::synthetic_data();
    TrainConfig cfg = test::tiny_config(dir.file("run"));
    cfg.epochs = 1;
    Trainer t(cfg, data);
    TrainSummary s = t.run();
    CHECK(s.epochs_done == 1);
    CHECK(s.steps == 4);  // 64 images, batch 16, drop_last
    const EpochRecord& r = t.history().at(0);
    CHECK(r.test.count == 32);
    REQUIRE(r.test.per_class.size() == 4);
    double mean_class = 0;
    for (double a : r.test.per_class) mean_class += a / 4;  // balanced: 8 images per class
    CHECK(mean_class == doctest::Approx(r.test.top1));
    CHECK(r.test.top5 == 100.0);   // 4 classes
    REQUIRE(r.gates.size() == 3);  // convit_cifar_micro: 3 GPSA layers of 4 heads
    CHECK(r.gates[0].size() == 4);
    for (const char* f : {"metrics.jsonl", "config.json", "loss.svg", "accuracy.svg", "gates.svg",
                          "checkpoint.safetensors"})
        CHECK(fs::exists(dir.file(std::string("run/") + f)));
    CHECK(read_text(dir.file("run/gates.svg")).find("GPSA layer 2") != std::string::npos);

    // evaluate() on the trained weights reproduces the logged test metrics.
    EvalResult e = evaluate(t.model(), data.test, cfg.augment.norm, 7, Device::cpu());
    CHECK(e.top1 == doctest::Approx(r.test.top1));
    CHECK(e.loss == doctest::Approx(r.test.loss).epsilon(1e-5));
}

TEST_CASE("smoke run on a slice of CIFAR-10") {
    fs::path root = resolve_data_root();
    if (!fs::exists(root / "cifar-10-batches-bin" / "test_batch.bin")) {
        MESSAGE("skipped: CIFAR-10 not found under " << root.string());
        return;
    }
    test::TempDir dir("vg_trainer_cifar");
    TrainConfig cfg;
    cfg.model = "deit_cifar_micro";
    cfg.dataset = "cifar10";
    cfg.limit_train = 256;
    cfg.limit_test = 256;
    cfg.epochs = 1;
    cfg.batch_size = 64;
    cfg.lr = 1e-3;
    cfg.warmup_epochs = 0;
    cfg.workers = 1;
    cfg.quiet = true;
    cfg.output_dir = dir.file("run");
    Trainer t(cfg);
    TrainSummary s = t.run();
    CHECK(s.steps == 4);
    const EpochRecord& r = t.history().at(0);
    CHECK(std::isfinite(r.train_loss));
    CHECK(r.test.count == 256);
    CHECK(r.test.per_class.size() == 10);
    CHECK(r.test.top5 >= r.test.top1);
    Checkpoint c = load_checkpoint(dir.file("run/checkpoint.safetensors"));
    CHECK(c.epoch == 1);
    CHECK(c.model_name == "deit_cifar_micro");
}

TEST_CASE("SVG plots: one polyline per series, panels in a grid, text escaped") {
    Panel a{"loss <train>",
            "epoch",
            "ce",
            {{"train", {1, 2, 3}, {2.0, 1.5, NAN}}, {"test", {1, 2}, {2, 2}}}};
    Panel b{"flat", "x", "y", {{"only", {1}, {5}}}};
    std::string svg = render_svg({a, b, b}, 2, 300, 200);
    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(svg.find("width='600' height='400'") != std::string::npos);  // 2 columns x 2 rows
    size_t lines = 0;
    for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1))
        ++lines;
    CHECK(lines == 4);
    CHECK(svg.find("loss &lt;train&gt;") != std::string::npos);
    CHECK(svg.find("nan") == std::string::npos);  // non-finite points are skipped
    CHECK_THROWS_WITH_AS(write_text_file("/nonexistent/dir/x.svg", svg),
                         doctest::Contains("write_text_file"), vg::Error);
}
