// `vitgrad train --device cuda` says, in one line on stderr, that the CUDA backend has not yet run
// on a GPU, where a CUDA device is there to run on (elsewhere the run ends at its one error line);
// a CPU run says nothing of the kind.
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "tests/helpers.h"
#include "tests/train/train_fixtures.h"
#include "train/run/trainer.h"

using namespace vg;

namespace {

// What `f` writes to file descriptor 2.
std::string capture_stderr(const std::function<void()>& f) {
    std::fflush(stderr);
    FILE* tmp = std::tmpfile();
    REQUIRE(tmp != nullptr);
    int saved = ::dup(2);
    ::dup2(::fileno(tmp), 2);
    f();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::rewind(tmp);
    std::string out;
    for (int c = std::fgetc(tmp); c != EOF; c = std::fgetc(tmp)) out += char(c);
    std::fclose(tmp);
    return out;
}

}  // namespace

TEST_CASE("vitgrad train --device cuda warns that the CUDA backend has not yet run on a GPU") {
    test::TempDir dir("vg_cuda_warning");
    TrainConfig cfg;
    cfg.data_dir = dir.file("no_data_here");  // every run below stops at loading the data
    cfg.output_dir = dir.file("run");
    for (const char* device : {"cuda", "cpu"}) {
        INFO(device);
        cfg.device = device;
        std::string err = capture_stderr([&] { CHECK_THROWS_AS(run_training(cfg), vg::Error); });
        bool warned = err.find(kCudaUnverifiedWarning) != std::string::npos;
        CHECK(warned == (std::string(device) == "cuda" && test::cuda_available()));
    }
}
