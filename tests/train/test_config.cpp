// Knob ranges: every training knob states the values it accepts, and the command line, config
// files and struct values are all checked against them in one place, with one error shape.
#include <filesystem>
#include <fstream>

#include "tests/helpers.h"
#include "tests/train/train_fixtures.h"
#include "train/data/readable_file.h"
#include "train/run/config.h"
#include "train/run/knob_values.h"

using namespace vg;
using test::error_of;

namespace {

size_t count_of(const std::string& s, const std::string& part) {
    size_t n = 0;
    for (size_t p = s.find(part); p != std::string::npos; p = s.find(part, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("every knob states its range and the defaults are inside it") {
    for (const Knob& k : train_knobs()) {
        INFO(k.name);
        CHECK(!k.allowed.empty());
        CHECK(k.problem(TrainConfig{}) == "");
    }
    CHECK_NOTHROW(check_config(TrainConfig{}));
}

TEST_CASE("values outside a knob's range are refused, naming the knob, the value and the range") {
    struct Bad {
        const char* key;
        const char* value;
        const char* allowed;
    };
    // The careless inputs of the audit, and one more per kind of domain.
    const Bad bad[] = {
        {"lr", "-1e-3", "[0, 100]"},
        {"lr", "nan", "[0, 100]"},
        {"lr", "-inf", "[0, 100]"},
        {"epochs", "-5", "[1, 100000]"},
        {"batch_size", "1000000000", "[1, 65536]"},
        {"seed", "-1", "[0, 18446744073709551615]"},
        {"threads", "4294967297", "[0, 1024]"},
        {"threads", "100000", "[0, 1024]"},
        {"workers", "1000000", "[0, 64]"},
        {"limit_train", "-1", "[0, 100000000]"},
        {"smoothing", "2", "[0, 1]"},
        {"hflip", "2", "[0, 1]"},
        {"mixup", "-1", "[0, 100]"},
        {"crop_padding", "-4", "[0, 64]"},
        {"checkpoint_every", "0", "[1, 100000]"},
        {"clip_grad", "nan", "[0, 1000000]"},
        {"min_lr", "inf", "[0, 100]"},
        {"lr_base_batch", "0", "[1, 65536]"},
        {"ra_num_ops", "1000000000", "[0, 16]"},
        {"recount", "1000000000", "[1, 16]"},
        {"ra_magnitude", "nan", "[0, 10]"},
        {"beta2", "1", "[0, 1)"},
        {"opt_eps", "0", "(0, 1]"},
        {"optimizer", "adam", "adamw | sgd"},
        {"remode", "zeros", "const | rand | pixel"},
        {"device", "gpu", "cpu | cuda | cuda:N"},
        {"ema", "maybe", "true | false"},
        {"output_dir", "", "a directory"},
        {"epochs", "1.5", "[1, 100000]"},
        {"lr", "fast", "[0, 100]"},
    };
    for (const Bad& b : bad) {
        INFO(b.key << " = " << b.value);
        TrainConfig c;
        const std::string before = config_to_json(c);
        std::string msg = error_of([&] { set_knob(c, b.key, b.value); });
        CHECK(msg.find(b.key) != std::string::npos);
        CHECK(msg.find(std::string("'") + b.value + "'") != std::string::npos);
        CHECK(msg.find(std::string("(allowed: ") + b.allowed + ")") != std::string::npos);
        CHECK(config_to_json(c) == before);  // a refused value changes nothing
    }
    TrainConfig c;
    CHECK(error_of([&] { set_knob(c, "--lr", "-1e-3"); }) ==
          "config: --lr '-1e-3' is out of range (allowed: [0, 100])");
    CHECK(error_of([&] { set_knob(c, "seed", "-1"); }).find("not an integer") != std::string::npos);
    CHECK(error_of([&] { set_knob(c, "threads", "4294967297"); }).find("out of range") !=
          std::string::npos);
    // Inside the ranges: the edges, and text forms that mean the same value.
    set_knob(c, "seed", "18446744073709551615");
    CHECK(c.seed == UINT64_MAX);
    set_knob(c, "smoothing", "1");
    set_knob(c, "beta2", "0.9999");
    set_knob(c, "threads", " 4 ");
    CHECK(c.threads == 4);
    set_knob(c, "model", "\"deit_cifar_micro\"");
    CHECK(c.model == "deit_cifar_micro");
}

TEST_CASE("config files are checked like flags and their errors carry one prefix") {
    TrainConfig c;
    std::string msg = error_of([&] { apply_config_text(c, "epochs = 3\nlr = -1\n", "f.cfg"); });
    CHECK(msg == "config: f.cfg:2: lr = '-1' is out of range (allowed: [0, 100])");
    msg = error_of([&] { apply_config_text(c, "\n\nlrate = 1\n", "f.cfg"); });
    CHECK(count_of(msg, "config:") == 1);
    CHECK(msg.rfind("config: f.cfg:3: unknown key 'lrate'", 0) == 0);
    msg = error_of([&] { apply_config_text(c, R"({"hflip": 2})", "f.json"); });
    CHECK(msg == "config: f.json: hflip = '2' is out of range (allowed: [0, 1])");
    // The saved config of a checkpoint goes through the same path.
    msg = error_of([&] { apply_config_text(c, R"({"epochs": "-5"})", "c.safetensors"); });
    CHECK(msg.find("epochs = '-5' is out of range") != std::string::npos);
}

TEST_CASE("did you mean compares whole names") {
    TrainConfig c;
    std::string msg = error_of([&] { set_knob(c, "epoch", "3"); });
    CHECK(msg.find("did you mean epochs?") != std::string::npos);
    CHECK(msg.find("warmup_epochs") == std::string::npos);  // shares only a prefix
    msg = error_of([&] { set_knob(c, "--batch-sise", "3"); });
    CHECK(msg.find("did you mean --batch-size") != std::string::npos);
    msg = error_of([&] { set_knob(c, "learning_rate", "1"); });
    CHECK(msg.find("did you mean") == std::string::npos);
    msg = error_of([&] { set_knob(c, "model", "convit_cifar_tiy"); });
    CHECK(msg.find("did you mean convit_cifar_tiny") != std::string::npos);
    CHECK(close_names("lr", {"lr", "min_lr", "warmup_lr"}) == std::vector<std::string>{"lr"});
}

TEST_CASE("check_config finds values set directly on the struct") {
    TrainConfig c;
    c.augment.ra_magnitude = NAN;
    CHECK(error_of([&] { check_config(c); }) ==
          "config: ra_magnitude = 'nan' is out of range (allowed: [0, 10])");
    c = TrainConfig{};
    c.augment.erase_min_area = 0.5;
    c.augment.erase_max_area = 0.25;
    CHECK(error_of([&] { check_config(c); }).find("erase_min_area") != std::string::npos);
    c = TrainConfig{};
    c.base_lr = 50;
    c.batch_size = 4096;  // derived lr 400
    CHECK(error_of([&] { check_config(c); }).find("derived lr") != std::string::npos);
    c = TrainConfig{};
    c.dataset = "synthetic";
    CHECK_THROWS_AS(check_config(c), Error);
    CHECK_NOTHROW(check_config(c, {"dataset"}));
}

TEST_CASE("a config path that is a directory or unreadable is one clear error") {
    test::TempDir dir("vg_config_paths");
    TrainConfig c;
    CHECK(error_of([&] { apply_config_file(c, dir.file("")); }).find("is a directory") !=
          std::string::npos);
    CHECK(error_of([&] { apply_config_file(c, dir.file("missing.cfg")); }).find("not found") !=
          std::string::npos);
    std::string locked = dir.file("locked.cfg");
    std::ofstream(locked) << "lr = 1e-3\n";
    std::filesystem::permissions(locked, std::filesystem::perms::owner_write);
    std::string msg =
        test::as_unprivileged([&] { return error_of([&] { apply_config_file(c, locked); }); });
    CHECK(msg == "config: " + locked + " cannot be opened (Permission denied)");
}
