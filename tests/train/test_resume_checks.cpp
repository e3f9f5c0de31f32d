// Resume refuses a checkpoint whose metadata this run could not have written (edited, damaged or
// of another run), keeps metrics.jsonl equal to the checkpoint's history, and a run directory is
// checked and cleared of orphaned temporaries before anything starts.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/helpers.h"
#include "tests/train/train_fixtures.h"
#include "train/run/checkpoint.h"
#include "train/run/resume_check.h"
#include "train/run/run_dir.h"
#include "train/run/trainer.h"

using namespace vg;
using test::error_of;
using test::read_text;
namespace fs = std::filesystem;

namespace {

// One epoch of the tiny run, saved; returns its checkpoint path.
std::string one_epoch(const test::TempDir& dir, const TrainData& data) {
    TrainConfig cfg = test::tiny_config(dir.file("run"));
    cfg.stop_after = 1;
    Trainer(cfg, data).run();
    return dir.file("run/checkpoint.safetensors");
}

// The error of resuming the tiny run from `c` (written next to the original).
std::string resume_error(const test::TempDir& dir, const TrainData& data, const Checkpoint& c) {
    std::string path = dir.file("edited.safetensors");
    save_checkpoint(path, c);
    TrainConfig cfg = test::tiny_config(dir.file("run"));
    cfg.resume = path;
    return error_of([&] { Trainer(cfg, data); });
}

std::string data_state(int64_t epoch, int64_t batch) {
    return nlohmann::json{{"seed", 3}, {"epoch", epoch}, {"batch", batch}}.dump();
}

}  // namespace

TEST_CASE("resume refuses metadata the run could not have written") {
    test::TempDir dir("vg_resume_meta");
    TrainData data = test::synthetic_data();
    const Checkpoint good = load_checkpoint(one_epoch(dir, data));
    REQUIRE(good.epoch == 1);
    const TrainConfig cfg = test::tiny_config(dir.file("run"));  // 2 epochs of 4 batches
    CHECK_NOTHROW(check_resume(good, "c", cfg, 4));

    struct Edit {
        const char* what;
        std::function<void(Checkpoint&)> edit;
        const char* expect;
    };
    const Edit edits[] = {
        {"epoch -3", [](Checkpoint& c) { c.epoch = -3, c.data_state = data_state(-3, 0); },
         "-3 finished epochs is outside [0, 2]"},
        {"epoch 1e6",
         [](Checkpoint& c) { c.epoch = 1000000, c.data_state = data_state(1000000, 0); },
         "1000000 finished epochs is outside [0, 2]"},
        {"all epochs done", [](Checkpoint& c) { c.epoch = 2, c.data_state = data_state(2, 0); },
         "has finished all 2 epochs"},
        {"batch 1e9", [](Checkpoint& c) { c.data_state = data_state(1, 1000000000); },
         "next batch 1000000000 is outside [0, 4)"},
        {"batch -7", [](Checkpoint& c) { c.data_state = data_state(1, -7); },
         "next batch -7 is outside [0, 4)"},
        {"data epoch", [](Checkpoint& c) { c.data_state = data_state(0, 0); },
         "the data-order state is in epoch 0 but 1 epochs are finished"},
        {"data seed", [](Checkpoint& c) { c.data_state = R"({"seed":4,"epoch":1,"batch":0})"; },
         "trained with seed 4 but the run uses seed 3"},
        {"malformed data state", [](Checkpoint& c) { c.data_state = R"({"seed":3})"; },
         "malformed data-order state"},
        {"generator seed", [](Checkpoint& c) { c.rng_seed = 9; },
         "the generator seed 9 is not the run's seed 3"},
        {"step", [](Checkpoint& c) { c.step = -1; }, "step count -1"},
        {"optimiser step", [](Checkpoint& c) { c.optim.step = 40; },
         "the optimiser's step count 40 disagree"},
        {"history", [](Checkpoint& c) { c.metrics = "[]"; },
         "the metrics history has 0 epochs but 1 are finished"},
        {"best", [](Checkpoint& c) { c.best_acc = 250; }, "best top-1 250 is outside [0, 100]"},
        {"optimizer kind", [](Checkpoint& c) { c.optim.kind = "sgd"; },
         "holds sgd state but the run uses --optimizer adamw"},
        {"model", [](Checkpoint& c) { c.model_name = "deit_cifar_micro"; },
         "holds a 'deit_cifar_micro' but the run trains 'convit_cifar_micro'"},
    };
    for (const Edit& e : edits) {
        INFO(e.what);
        Checkpoint c = good;
        e.edit(c);
        std::string msg = error_of([&] { check_resume(c, "c.safetensors", cfg, 4); });
        INFO(msg);
        CHECK(msg.rfind("resume: ", 0) == 0);
        CHECK(msg.find(e.expect) != std::string::npos);
    }
    // The same through the trainer, and the tensor sections, which only the trainer can check.
    const Edit tensors[] = {
        {"epoch 1e6",
         [](Checkpoint& c) { c.epoch = 1000000, c.data_state = data_state(1000000, 0); },
         "1000000 finished epochs"},
        {"extra optim tensor",
         [](Checkpoint& c) { c.optim.tensors["exp_avg.ghost"] = Tensor::zeros({3}); },
         "a tensor 'exp_avg.ghost' that no parameter uses"},
        {"extra EMA tensor", [](Checkpoint& c) { c.ema["ghost"] = Tensor::zeros({3}); },
         "a tensor 'ghost' the model lacks"},
        {"NaN weights",
         [](Checkpoint& c) {
             c.model["head.bias"] = Tensor::full(c.model.at("head.bias").shape(), NAN);
         },
         "tensor 'head.bias' holds NaN or Inf"},
    };
    for (const Edit& e : tensors) {
        INFO(e.what);
        Checkpoint c = good;
        e.edit(c);
        std::string msg = resume_error(dir, data, c);
        INFO(msg);
        CHECK(msg.rfind("resume: ", 0) == 0);
        CHECK(msg.find(e.expect) != std::string::npos);
    }
}

TEST_CASE("a mid-epoch resume needs the knobs that make the epoch's order") {
    test::TempDir dir("vg_resume_order");
    TrainData data = test::synthetic_data();
    Checkpoint c = load_checkpoint(one_epoch(dir, data));
    c.data_state = data_state(1, 2);
    c.step = c.optim.step = 6;
    std::string path = dir.file("mid.safetensors");
    save_checkpoint(path, c);
    TrainConfig cfg = test::tiny_config(dir.file("run"));
    cfg.resume = path;
    CHECK_NOTHROW(Trainer(cfg, data));
    cfg.batch_size = 8;
    CHECK(error_of([&] { Trainer(cfg, data); }).find("batch_size = \"16\", but the run has 8") !=
          std::string::npos);
}

TEST_CASE("resume rewrites metrics.jsonl from the checkpoint: no epoch is logged twice") {
    test::TempDir dir("vg_resume_log");
    TrainData data = test::synthetic_data();
    std::string ckpt = one_epoch(dir, data);
    std::string log = dir.file("run/metrics.jsonl");
    std::string first = read_text(log);
    REQUIRE(std::count(first.begin(), first.end(), '\n') == 1);
    // A line the checkpoint does not know: written, then killed before the checkpoint followed.
    std::ofstream(log, std::ios::app) << first;
    TrainConfig cfg = test::tiny_config(dir.file("run"));
    cfg.resume = ckpt;
    Trainer(cfg, data).run();
    std::string after = read_text(log);
    REQUIRE(std::count(after.begin(), after.end(), '\n') == 2);
    CHECK(after.rfind(first, 0) == 0);
    CHECK(nlohmann::json::parse(after.substr(first.size())).at("epoch") == 1);
}

TEST_CASE("the run directory is checked before any work and orphaned temporaries are removed") {
    test::TempDir dir("vg_run_dir");
    std::ofstream(dir.file("a_file")) << "x";
    CHECK(error_of([&] { prepare_run_dir(dir.file("a_file")); }) ==
          "output_dir: " + dir.file("a_file") + " exists and is not a directory");
    CHECK(error_of([&] {
              prepare_run_dir(dir.file("a_file/sub"));
          }).find("cannot create " + dir.file("a_file/sub")) != std::string::npos);
    CHECK(error_of([&] { prepare_run_dir(""); }).find("empty") != std::string::npos);
    CHECK(error_of([&] { prepare_run_dir("/dev/null"); }).find("is not a directory") !=
          std::string::npos);
    CHECK(error_of([&] { prepare_run_dir("/proc/vitgrad_run"); }).find("cannot create") !=
          std::string::npos);
    fs::create_directory(dir.file("locked"));
    fs::permissions(dir.file("locked"),
                    fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
    std::string msg = test::as_unprivileged(
        [&] { return error_of([&] { prepare_run_dir(dir.file("locked")); }); });
    CHECK(msg == "output_dir: cannot write into " + dir.file("locked") + " (Permission denied)");
    CHECK_NOTHROW(prepare_run_dir(dir.file("new/run")));
    CHECK(fs::is_directory(dir.file("new/run")));

    // A writer that died (a reaped child), this process and a live one (pid 1).
    pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ::waitpid(dead, nullptr, 0);
    std::string run = dir.file("new/run");
    for (std::string name : {fmt::format("checkpoint.safetensors.tmp.{}", dead),
                             fmt::format("checkpoint.safetensors.tmp.{}", ::getpid()),
                             std::string("checkpoint.safetensors.tmp.1"),
                             std::string("notes.tmp.x"), std::string("metrics.jsonl")})
        std::ofstream(run + "/" + name) << "partial";
    TrainConfig cfg = test::tiny_config(run);
    Trainer t(cfg, test::synthetic_data());
    CHECK(!fs::exists(fmt::format("{}/checkpoint.safetensors.tmp.{}", run, dead)));
    CHECK(!fs::exists(fmt::format("{}/checkpoint.safetensors.tmp.{}", run, ::getpid())));
    CHECK(fs::exists(run + "/checkpoint.safetensors.tmp.1"));  // its writer may be running
    CHECK(fs::exists(run + "/notes.tmp.x"));
    CHECK(fs::exists(run + "/metrics.jsonl"));
}

TEST_CASE("vitgrad eval evaluates the whole test set unless it is told a subset") {
    Checkpoint c;
    TrainConfig trained;
    trained.model = "deit_cifar_micro";
    trained.limit_test = 2000;
    trained.eval_batch_size = 100;
    c.config = config_to_json(trained);
    TrainConfig cfg = eval_config(c, "c.safetensors", TrainConfig{}, {});
    CHECK(cfg.limit_test == 0);
    CHECK(cfg.model == "deit_cifar_micro");
    CHECK(cfg.eval_batch_size == 100);
    TrainConfig told;
    told.limit_test = 500;
    CHECK(eval_config(c, "c.safetensors", told, {"limit_test"}).limit_test == 500);
}
