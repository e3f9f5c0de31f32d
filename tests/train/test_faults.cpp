// What the trainer does when numbers go bad: NaN or Inf logits are wrong predictions, a
// non-finite parameter or test loss stops the run before anything is logged or saved, the error
// names the real last good checkpoint, and losses are read back in batches, not per step.
#include <csignal>
#include <filesystem>
#include <fstream>

#include "autograd/grad_mode.h"
#include "tests/helpers.h"
#include "tests/train/train_fixtures.h"
#include "train/run/checkpoint.h"
#include "train/run/signals.h"
#include "train/run/trainer.h"

using namespace vg;
using test::read_text;
namespace fs = std::filesystem;

namespace {

Tensor param(Trainer& t, const std::string& name) {
    for (auto& [n, p] : t.model().named_parameters())
        if (n == name) return p;
    FAIL("no parameter " << name);
    return {};
}

// Calls `poison` from the backward of the `at`-th step (1-based) of the run, through a gradient
// hook on `name`: the step's loss is already computed (and finite), its update is not yet made.
void poison_at_step(Trainer& t, const std::string& name, int at,
                    std::function<void(Tensor& grad, Tensor& p)> poison) {
    Tensor p = param(t, name);
    auto calls = std::make_shared<int>(0);
    p.register_hook([calls, at, p, poison](const Tensor& g) mutable {
        if (++*calls != at) return;
        Tensor grad = g;
        poison(grad, p);
    });
}

std::string diverged_message(Trainer& t, int64_t* step = nullptr) {
    try {
        t.run();
    } catch (const DivergedError& e) {
        if (step) *step = e.step;
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("NaN and Inf logits are wrong predictions, never ties that count as correct") {
    test::TempDir dir("vg_faults_eval");
    TrainData data = test::synthetic_data();
    Trainer t(test::tiny_config(dir.file("run")), data);
    EvalResult good = evaluate(t.model(), data.test, NormChoice::Dataset, 8, Device::cpu());
    CHECK(good.nonfinite == 0);
    CHECK(std::isfinite(good.loss));
    {
        NoGradGuard no_grad;
        param(t, "head.weight").fill_(NAN);
    }
    EvalResult bad = evaluate(t.model(), data.test, NormChoice::Dataset, 8, Device::cpu());
    CHECK(bad.count == 32);
    CHECK(bad.nonfinite == 32);
    CHECK(bad.top1 == 0);
    CHECK(bad.top5 == 0);  // 4 classes: every finite row would be a top-5 hit
    for (double a : bad.per_class) CHECK(a == 0);
    CHECK(std::isnan(bad.loss));
    {
        NoGradGuard no_grad;
        param(t, "head.weight").fill_(0.0);
        param(t, "head.bias").fill_(INFINITY);  // every logit +inf: all tied, none finite
    }
    EvalResult inf = evaluate(t.model(), data.test, NormChoice::Dataset, 8, Device::cpu());
    CHECK(inf.nonfinite == 32);
    CHECK(inf.top1 == 0);
}

TEST_CASE("a parameter that diverges on an epoch's last step stops the run before any save") {
    test::TempDir dir("vg_faults_param");
    TrainData data = test::synthetic_data();
    TrainConfig cfg = test::tiny_config(dir.file("run"));
    cfg.epochs = 1;
    Trainer t(cfg, data);
    // Step 4 is the last of the epoch: its loss is finite, its update makes head.bias NaN
    // (AdamW: inf / sqrt(inf)).
    poison_at_step(t, "head.bias", 4, [](Tensor& g, Tensor&) { g.fill_(INFINITY); });
    int64_t step = 0;
    std::string msg = diverged_message(t, &step);
    CHECK(msg.find("parameter 'head.bias' holds NaN or Inf after step 4 (epoch 1)") !=
          std::string::npos);
    CHECK(msg.find("no checkpoint of this run was saved") != std::string::npos);
    CHECK(step == 4);
    CHECK(!fs::exists(t.checkpoint_path()));
    CHECK(read_text(dir.file("run/metrics.jsonl")).empty());
}

TEST_CASE(
    "a non-finite test loss with finite parameters stops the run, naming the last good "
    "checkpoint") {
    test::TempDir dir("vg_faults_evalloss");
    TrainData data = test::synthetic_data();
    TrainConfig cfg = test::tiny_config(dir.file("run"));
    cfg.ema = false;
    cfg.stop_after = 1;
    Trainer(cfg, data).run();  // epoch 1 saved
    const std::string ckpt = dir.file("run/checkpoint.safetensors");
    const std::string good = read_text(ckpt);
    cfg.stop_after = 0;
    cfg.resume = ckpt;
    Trainer t(cfg, data);
    // On the last step of epoch 2 the head becomes huge but finite: the logits overflow.
    poison_at_step(t, "head.weight", 4, [](Tensor&, Tensor& p) { p.fill_(3e38); });
    std::string msg = diverged_message(t);
    CHECK(msg.find("test loss became") != std::string::npos);
    CHECK(msg.find("after epoch 2 (32 of 32 test images gave NaN or Inf logits)") !=
          std::string::npos);
    CHECK(msg.find("the last good checkpoint is " + ckpt +
                   " (1 epochs, step 4; the checkpoint "
                   "this run resumed from)") != std::string::npos);
    CHECK(read_text(ckpt) == good);
    // The log still matches the checkpoint: epoch 1 only.
    std::string log = read_text(dir.file("run/metrics.jsonl"));
    CHECK(std::count(log.begin(), log.end(), '\n') == 1);
}

TEST_CASE("the NaN step is named exactly although losses are read back every log_every steps") {
    test::TempDir dir("vg_faults_readback");
    TrainData data = test::synthetic_data();
    TrainConfig cfg = test::tiny_config(dir.file("run"));
    cfg.log_every = 3;
    cfg.stop_after = 1;
    TrainSummary s = Trainer(cfg, data).run();  // epoch 1: steps 1-4, saved
    CHECK(s.steps == 4);
    CHECK(s.loss_readbacks == 2);  // after step 3 (log_every) and step 4 (the epoch's end)
    cfg.stop_after = 0;
    cfg.resume = dir.file("run/checkpoint.safetensors");
    Trainer t(cfg, data);
    {
        NoGradGuard no_grad;
        param(t, "head.weight").fill_(NAN);  // the loss of step 5 is NaN
    }
    int64_t step = 0;
    std::string msg = diverged_message(t, &step);  // found at the read-back after step 6
    CHECK(step == 5);
    INFO(msg);
    CHECK(msg.find("the loss became NaN at step 5 (epoch 2, batch 1)") != std::string::npos);
    CHECK(msg.find("the last good checkpoint is " + cfg.resume) != std::string::npos);
}

TEST_CASE("a run stopped before its first epoch says that no epoch finished") {
    test::TempDir dir("vg_faults_summary");
    TrainData data = test::synthetic_data();
    TrainConfig cfg = test::tiny_config(dir.file("run"));
    Trainer t(cfg, data);
    poison_at_step(t, "head.bias", 2, [](Tensor&, Tensor&) { request_stop(SIGINT); });
    TrainSummary s = t.run();
    clear_stop();
    CHECK(s.stopped_by_signal);
    CHECK(s.epochs_done == 0);
    CHECK(s.steps == 2);
    Checkpoint c = load_checkpoint(t.checkpoint_path());
    CHECK(c.epoch == 0);
    CHECK(c.step == 2);
    std::string line = summary_line(s, "out");
    CHECK(line.find("no epoch finished") != std::string::npos);
    CHECK(line.find("top-1") == std::string::npos);
    CHECK(line.find("img/s") == std::string::npos);
    s.epochs_done = 1;
    s.best_top1 = s.final_top1 = 50;
    s.images_per_s = 10;
    CHECK(summary_line(s, "out").find("best top-1 50.00%") != std::string::npos);
}
