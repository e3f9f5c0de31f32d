// Checkpoints: atomic writes, clear errors on damaged files, and bitwise-exact resume (after a
// whole epoch and mid-epoch after a stop signal) on the CPU.
#include <omp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/random.h"
#include "core/safetensors.h"
#include "tests/helpers.h"
#include "tests/train/train_fixtures.h"
#include "train/run/checkpoint.h"
#include "train/run/signals.h"
#include "train/run/trainer.h"

using namespace vg;
namespace fs = std::filesystem;

namespace {

Checkpoint small_checkpoint(double fill, int64_t n = 16) {
    Checkpoint c;
    c.model["w"] = Tensor::full({n}, fill);
    c.optim.kind = "adamw";
    c.optim.step = 3;
    c.optim.tensors["exp_avg.w"] = Tensor::full({n}, fill / 2);
    c.epoch = 2;
    c.step = 7;
    c.rng_seed = 42;
    c.rng_offset = (uint64_t(1) << 40) + 5;
    c.data_state = R"({"seed":0,"epoch":2,"batch":0})";
    c.config = "{}";
    c.metrics = "[]";
    c.model_name = "toy";
    c.best_acc = 12.5;
    return c;
}

std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

}  // namespace

TEST_CASE("checkpoint round trip keeps every section") {
    test::TempDir dir("vg_ckpt_rt");
    std::string path = dir.file("c.safetensors");
    save_checkpoint(path, small_checkpoint(1.5));
    Checkpoint c = load_checkpoint(path);
    CHECK(c.model.at("w").to_vector() == std::vector<double>(16, 1.5));
    CHECK(c.optim.tensors.at("exp_avg.w").to_vector()[0] == 0.75);
    CHECK(c.optim.kind == "adamw");
    CHECK(c.optim.step == 3);
    CHECK(c.epoch == 2);
    CHECK(c.step == 7);
    CHECK(c.rng_seed == 42);
    CHECK(c.rng_offset == (uint64_t(1) << 40) + 5);
    CHECK(c.data_state == R"({"seed":0,"epoch":2,"batch":0})");
    CHECK(c.model_name == "toy");
    CHECK(c.best_acc == 12.5);
}

TEST_CASE("a failing checkpoint write leaves the previous file intact") {
    test::TempDir dir("vg_ckpt_fail");
    std::string path = dir.file("c.safetensors");
    save_checkpoint(path, small_checkpoint(1.0));
    std::string before = read_bytes(path);
    // The writer's temp file cannot be created: a directory is in the way.
    fs::create_directory(fmt::format("{}.tmp.{}", path, ::getpid()));
    CHECK_THROWS_AS(save_checkpoint(path, small_checkpoint(2.0)), vg::Error);
    CHECK(read_bytes(path) == before);
    CHECK(load_checkpoint(path).model.at("w").to_vector()[0] == 1.0);
}

TEST_CASE("a checkpoint write killed midway leaves a loadable file") {
    test::TempDir dir("vg_ckpt_kill");
    std::string path = dir.file("c.safetensors");
    save_checkpoint(path, small_checkpoint(1.0, 4 << 20));
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        omp_set_num_threads(1);  // no OpenMP pool after fork
        for (int i = 0;; ++i) save_checkpoint(path, small_checkpoint(2.0 + i, 4 << 20));
    }
    ::usleep(150 * 1000);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    Checkpoint c = load_checkpoint(path);  // old or new, never partial
    double v = c.model.at("w").to_vector()[0];
    CHECK(v >= 1.0);
    CHECK(c.model.at("w").numel() == (4 << 20));
}

TEST_CASE("damaged checkpoints give clear errors") {
    test::TempDir dir("vg_ckpt_bad");
    std::string path = dir.file("c.safetensors");
    save_checkpoint(path, small_checkpoint(1.0, 256));
    std::string bytes = read_bytes(path);
    {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f.write(bytes.data(), std::streamsize(bytes.size() / 2));
    }
    CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("damaged or incomplete"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.file("missing.safetensors")),
                         doctest::Contains("load_checkpoint"), vg::Error);
    // A plain weights file is not a training checkpoint.
    save_safetensors(path, {{"w", Tensor::zeros({2})}});
    CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("not a vitgrad checkpoint"),
                         vg::Error);
    // A newer format version is refused by name.
    save_safetensors(path, {{"model.w", Tensor::zeros({2})}},
                     {{"vitgrad", R"({"format":"vitgrad-checkpoint","version":99})"}});
    CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("version 99"), vg::Error);
    save_safetensors(path, {{"model.w", Tensor::zeros({2})}},
                     {{"vitgrad", R"({"format":"vitgrad-checkpoint","version":1})"}});
    CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("missing or malformed"),
                         vg::Error);
}

TEST_CASE("resume is bitwise exact: 2 epochs straight vs 1 + save + resume") {
    test::TempDir dir("vg_ckpt_resume");
    TrainData data = test::synthetic_data();

    TrainConfig straight = test::tiny_config(dir.file("straight"));
    Trainer a(straight, data);
    a.run();
    nn::StateDict wa = a.model().state_dict();

    TrainConfig first = test::tiny_config(dir.file("split"));
    first.stop_after = 1;
    {
        Trainer b(first, data);
        TrainSummary s = b.run();
        CHECK(s.epochs_done == 1);
    }
    // A fresh process state: other seeds and draws before resuming.
    manual_seed(987654);
    Tensor::randn({1000});
    TrainConfig second = test::tiny_config(dir.file("split"));
    second.resume = dir.file("split/checkpoint.safetensors");
    Trainer c(second, data);
    TrainSummary s = c.run();
    CHECK(s.epochs_done == 2);
    CHECK(c.history().size() == 2);
    nn::StateDict wc = c.model().state_dict();
    REQUIRE(wa.size() == wc.size());
    for (auto& [name, t] : wa) {
        CAPTURE(name);
        CHECK(t.to_vector() == wc.at(name).to_vector());
    }
}

TEST_CASE("a stop signal mid-epoch saves, and resuming from there is bitwise exact") {
    test::TempDir dir("vg_ckpt_signal");
    TrainData data = test::synthetic_data();
    Trainer a(test::tiny_config(dir.file("straight")), data);
    a.run();

    TrainConfig cfg = test::tiny_config(dir.file("split"));
    {
        Trainer b(cfg, data);
        struct ClearStop {
            ~ClearStop() { clear_stop(); }  // other tests must not see the flag, even on failure
        } clear;
        // Ctrl-C during the first step: from its backward (a signal that arrives while a batch
        // is still being built stops before that batch; tests/train/test_signals.cpp).
        for (auto& [name, p] : b.model().named_parameters())
            if (name == "head.bias") p.register_hook([](const Tensor&) { request_stop(SIGINT); });
        TrainSummary s = b.run();
        CHECK(s.stopped_by_signal);
        CHECK(s.steps == 1);
    }
    Checkpoint saved = load_checkpoint(dir.file("split/checkpoint.safetensors"));
    CHECK(saved.step == 1);
    CHECK(saved.data_state.find("\"batch\":1") != std::string::npos);
    cfg.resume = dir.file("split/checkpoint.safetensors");
    Trainer c(cfg, data);
    c.run();
    for (auto& [name, t] : a.model().state_dict()) {
        CAPTURE(name);
        CHECK(t.to_vector() == c.model().state_dict().at(name).to_vector());
    }
}
