// Stop signals during batch building: the loader gives up a batch in progress when asked, so the
// first SIGINT/SIGTERM ends a run promptly with a checkpoint at the undelivered batch; a second
// signal terminates the process at once.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "tests/helpers.h"
#include "tests/train/train_fixtures.h"
#include "train/run/checkpoint.h"
#include "train/run/loader.h"
#include "train/run/signals.h"
#include "train/run/trainer.h"

using namespace vg;
using Clock = std::chrono::steady_clock;

namespace {

// A dataset whose images take `delay` each to read: batches take long to build.
class SlowDataset : public Dataset {
  public:
    SlowDataset(std::shared_ptr<const Dataset> inner, std::chrono::milliseconds delay)
        : inner_(std::move(inner)), delay_(delay) {}
    std::string name() const override { return "slow/" + inner_->name(); }
    int64_t size() const override { return inner_->size(); }
    int num_classes() const override { return inner_->num_classes(); }
    const std::vector<std::string>& class_names() const override { return inner_->class_names(); }
    ImageShape image_shape() const override { return inner_->image_shape(); }
    NormStats stats() const override { return inner_->stats(); }
    int64_t label(int64_t i) const override { return inner_->label(i); }
    void read_image(int64_t i, uint8_t* dst) const override {
        std::this_thread::sleep_for(delay_);
        inner_->read_image(i, dst);
    }

  private:
    std::shared_ptr<const Dataset> inner_;
    std::chrono::milliseconds delay_;
};

std::atomic<bool> g_interrupt{false};
bool test_interrupted() { return g_interrupt.load(); }

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

TEST_CASE("the loader stops building a batch when interrupted, with or without workers") {
    auto slow = std::make_shared<SlowDataset>(test::synthetic_split("s", 64, 1),
                                              std::chrono::milliseconds(50));
    for (int workers : {0, 2}) {
        INFO("workers " << workers);
        g_interrupt = false;
        LoaderConfig lc;
        lc.batch_size = 32;  // 1.6 s to build
        lc.workers = workers;
        lc.aug = AugmentConfig::none();
        lc.interrupted = &test_interrupted;
        auto loader = std::make_unique<Loader>(slow, lc);
        std::thread poke([] {
            std::this_thread::sleep_for(std::chrono::milliseconds(150));
            g_interrupt = true;
        });
        auto t0 = Clock::now();
        Batch b;
        CHECK_FALSE(loader->next(b));
        CHECK(loader->state().batch == 0);  // nothing delivered
        loader.reset();                     // joins the workers
        poke.join();
        CHECK(seconds_since(t0) < 0.8);
    }
    g_interrupt = false;
}

TEST_CASE("a stop signal while a batch is built ends the run promptly with a checkpoint") {
    test::TempDir dir("vg_signal_build");
    TrainData data = test::synthetic_data();
    data.train = std::make_shared<SlowDataset>(data.train, std::chrono::milliseconds(100));
    TrainConfig cfg = test::tiny_config(dir.file("run"));
    Trainer t(cfg, data);  // batch 16: 1.6 s to build
    std::thread poke([] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        request_stop(SIGTERM);
    });
    auto t0 = Clock::now();
    TrainSummary s = t.run();
    double took = seconds_since(t0);
    poke.join();
    clear_stop();
    CHECK(s.stopped_by_signal);
    CHECK(s.steps == 0);
    INFO("took " << took << " s");
    CHECK(took < 1.2);
    Checkpoint c = load_checkpoint(t.checkpoint_path());
    CHECK(c.step == 0);
    CHECK(c.data_state.find("\"batch\":0") != std::string::npos);
}

TEST_CASE("a second stop signal terminates the process at once") {
    pid_t pid = ::fork();
    if (pid == 0) {
        install_stop_handlers();
        std::raise(SIGINT);  // the first one only asks
        if (!stop_requested()) ::_exit(3);
        std::raise(SIGINT);  // the second one is the default action
        ::_exit(4);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGINT);
}
