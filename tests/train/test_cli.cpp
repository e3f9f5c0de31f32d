// The command line as a careless user meets it: every mistake below ends in one `error:` line and
// a non-zero exit status, never in a crash, a hang or a silently rewritten value.
#include <filesystem>
#include <fstream>

#include "tests/helpers.h"
#include "tests/train/cli_runner.h"
#include "tests/train/train_fixtures.h"

using namespace vg;
namespace fs = std::filesystem;

TEST_CASE("out-of-range knobs and options end in one error line naming the range") {
    const char* cases[] = {
        "train --lr -1e-3",
        "train --lr nan",
        "train --lr -inf",
        "train --epochs -5",
        "train --batch-size 1e9",
        "train --batch-size 1000000000",
        "train --seed -1",
        "train --threads 100000",
        "train --threads 4294967297",
        "train --workers 1000000",
        "train --limit-train -1",
        "train --smoothing 2",
        "train --hflip 2",
        "train --mixup -1",
        "train --crop-padding -4",
        "train --checkpoint-every 0",
        "train --clip-grad nan",
        "train --min-lr inf",
        "train --lr-base-batch 0",
        "train --ra-num-ops 1000000000",
        "train --recount 1000000000",
        "train --ra-magnitude nan",
        "train --model convit_cifar_tiy",
        "demo --batch 1025",
        "demo --steps 0",
        "bench --reps 0",
        "bench --threads 100000",
        "inspect --count -1",
        "eval x.safetensors --limit-test -1",
        "eval x.safetensors --threads 100000",
        "train --no-such-flag 1",
    };
    for (const char* args : cases) {
        test::CliResult r = test::run_cli(args);
        INFO(args << "\n  exit " << r.code << "\n  stderr: " << r.err);
        CHECK(r.one_error_line());
        CHECK(r.out.empty());  // refused before anything ran
    }
    test::CliResult r = test::run_cli("train --lr -1e-3");
    CHECK(r.err == "error: config: --lr '-1e-3' is out of range (allowed: [0, 100])\n");
    // A flag given twice: the last one counts (and is checked).
    r = test::run_cli("train --epochs 1 --epochs -5");
    CHECK(r.err == "error: config: --epochs '-5' is out of range (allowed: [1, 100000])\n");
    r = test::run_cli("train --epoch 3");
    CHECK(r.err.find("did you mean --epochs?") != std::string::npos);
}

TEST_CASE("--help states every knob's range") {
    test::CliResult r = test::run_cli("train --help");
    CHECK(r.code == 0);
    CHECK(r.out.find("--lr FLOAT") != std::string::npos);
    CHECK(r.out.find("(allowed: [0, 100]; default: 0)") != std::string::npos);
    CHECK(r.out.find("(allowed: [1, 16]; default: 1)") != std::string::npos);  // recount
    r = test::run_cli("demo --help");
    CHECK(r.out.find("(allowed: [1, 1024]; default: 64)") != std::string::npos);
}

TEST_CASE("demo with one step succeeds and reports the loss over all samples") {
    test::CliResult r = test::run_cli("demo --steps 1");
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find("loss over all samples") != std::string::npos);
}

TEST_CASE("a bad --output-dir is one error line, before any data is read") {
    test::TempDir dir("vg_cli_outdir");
    std::ofstream(dir.file("a_file")) << "x";
    fs::create_directory(dir.file("locked"));
    fs::permissions(dir.file("locked"),
                    fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
    // --data-dir points nowhere: an error about the data would mean the directory was not
    // checked first.
    const std::string base = "train --model convit_cifar_micro --data-dir /nonexistent ";
    const std::pair<std::string, std::string> cases[] = {
        {"--output-dir " + dir.file("a_file"),
         dir.file("a_file") + " exists and is not a directory"},
        {"--output-dir " + dir.file("a_file") + "/run", "cannot create " + dir.file("a_file")},
        {"--output-dir ''", "--output-dir '' is empty"},
        {"--output-dir /dev/null", "/dev/null exists and is not a directory"},
        {"--output-dir /proc/vitgrad_run", "cannot create /proc/vitgrad_run"},
    };
    for (const auto& [args, expect] : cases) {
        test::CliResult r = test::run_cli(base + args);
        INFO(args << "\n  exit " << r.code << "\n  stderr: " << r.err);
        CHECK(r.one_error_line());
        CHECK(r.err.find(expect) != std::string::npos);
    }
    std::string err = test::as_unprivileged(
        [&] { return test::run_cli(base + "--output-dir " + dir.file("locked")).err; });
    CHECK(err ==
          "error: output_dir: cannot write into " + dir.file("locked") + " (Permission denied)\n");
}

TEST_CASE("checkpoint paths that are not files are one error line") {
    test::TempDir dir("vg_cli_ckpt");
    for (const std::string& cmd : {"eval " + dir.file(""), "train --resume " + dir.file(""),
                                   "eval " + dir.file("missing.safetensors")}) {
        test::CliResult r = test::run_cli(cmd);
        INFO(cmd << "\n  stderr: " << r.err);
        CHECK(r.one_error_line());
        CHECK(r.err.find("load_checkpoint") != std::string::npos);
    }
}
