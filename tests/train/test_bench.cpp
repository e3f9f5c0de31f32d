// The benchmark machinery (no timing assertions): configurations, the spread summary, one
// micro step returning finite numbers, --filter, --cpu-attention and the option errors.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "models/registry.h"
#include "tests/helpers.h"
#include "train/bench/bench.h"
#include "train/bench/bench_timing.h"

using namespace vg;

TEST_CASE("bench: micro configurations match the peer figures' parameter counts") {
    // D96, H4, L6 (ConViT: 4 GPSA layers), patch 4, 32x32, 10 classes.
    models::ModelConfig c = bench::bench_config("convit_micro"),
                        d = bench::bench_config("deit_micro");
    CHECK(models::count_parameters(c) == 681498);
    CHECK(models::count_parameters(d) == 683242);
    CHECK(models::count_parameters(bench::bench_config("convit_ti4")) == 5355858);
    CHECK(models::count_parameters(bench::bench_config("deit_ti4")) == 5362762);
    // Train FLOPs per image: 3 x forward; DeiT-Ti/4 per block 24 N D^2 + 4 N^2 D with N = 65,
    // plus the patch embedding 2 * 64 * 48 * 192 and the head 2 * 192 * 10.
    const double N = 65, D = 192;
    double fwd = 12 * (24 * N * D * D + 4 * N * N * D) + 2.0 * 64 * 48 * 192 + 2.0 * 192 * 10;
    CHECK(double(models::forward_flops(bench::bench_config("deit_ti4"))) == doctest::Approx(fwd));
    CHECK_THROWS_WITH_AS(bench::bench_config("no_such_model"), doctest::Contains("no_such_model"),
                         vg::Error);
}

TEST_CASE("bench: summarize gives median, quartiles and range") {
    bench::Timing t = bench::summarize({5, 1, 4, 2, 3});
    CHECK(t.median == 3);
    CHECK(t.min == 1);
    CHECK(t.max == 5);
    CHECK(t.q1 == 2);
    CHECK(t.q3 == 4);
    CHECK(t.reps == 5);
    CHECK(bench::summarize({1, 2}).median == doctest::Approx(1.5));
}

TEST_CASE("bench: one micro step returns finite numbers") {
    for (const char* m : {"convit_micro", "deit_micro"}) {
        bench::StepResult r = bench::bench_step(m, 2, Device::cpu(), DType::F32, 0, 1, true);
        CHECK(std::isfinite(r.loss));
        CHECK(r.step.median > 0);
        CHECK(r.forward.reps == 1);
        CHECK(r.peak_bytes > 0);
        CHECK(r.flops_per_step ==
              doctest::Approx(3.0 * 2 * double(models::forward_flops(bench::bench_config(m)))));
    }
}

TEST_CASE("bench: bad options are errors naming bench") {
    bench::BenchOptions o;
    o.quiet = true;
    o.dtype = "int8";
    CHECK_THROWS_WITH_AS(bench::bench_main(o), doctest::Contains("--dtype"), vg::Error);
    o.dtype = "float32";
    o.ops_only = o.steps_only = true;
    CHECK_THROWS_WITH_AS(bench::bench_main(o), doctest::Contains("bench"), vg::Error);
    o.ops_only = false;
    o.batches = {0};
    CHECK_THROWS_WITH_AS(bench::bench_main(o), doctest::Contains("batch"), vg::Error);
}

namespace {
// A quick, quiet op-level run of one model's ops matching `filter`, written to `json`.
bench::BenchOptions quick_ops(const char* model, const char* filter,
                              const std::filesystem::path& json) {
    bench::BenchOptions o;
    o.quiet = true;
    o.ops_only = true;
    o.models = {model};
    o.batches = {2};
    o.warmup = 0;
    o.reps = 1;
    o.ceiling_n = 64;
    o.fma_peak = false;
    o.filter = filter;
    o.json = json.string();
    return o;
}
}  // namespace

TEST_CASE("bench: --filter times only the matching ops, against a ceiling it does not skip") {
    const auto path = std::filesystem::temp_directory_path() / "vg_bench_filter.json";
    bench::BenchOptions o = quick_ops("deit_micro", "proj fwd", path);
    REQUIRE(bench::bench_main(o) == 0);
    nlohmann::json report = nlohmann::json::parse(std::ifstream(path));
    std::filesystem::remove(path);
    const double ceiling = report["ceiling"]["gemm_gflops"].get<double>();
    CHECK(std::isfinite(ceiling));
    CHECK(ceiling > 0);
    REQUIRE(report["ops"].size() == 1);
    CHECK(report["ops"][0]["op"] == "matmul proj fwd");
    CHECK(report["ops"][0]["ceiling_fraction"].get<double>() > 0);
    CHECK(bench::op_filter().empty());  // the filter does not outlive the call
}

TEST_CASE("bench: --cpu-attention composite times the composite path, for that call only") {
    const auto path = std::filesystem::temp_directory_path() / "vg_bench_attention.json";
    bench::BenchOptions o = quick_ops("convit_micro", "attention", path);
    o.cpu_attention = "composite";
    REQUIRE(bench::bench_main(o) == 0);
    nlohmann::json report = nlohmann::json::parse(std::ifstream(path));
    std::filesystem::remove(path);
    CHECK(report["cpu_attention"] == "composite");
    REQUIRE(report["ops"].size() == 1);
    CHECK(report["ops"][0]["op"] == "attention fwd+bwd");
    CHECK(report["ops"][0]["gflops"].get<double>() > 0);
    CHECK(fused_cpu_attention());  // back to the default after the call
    o.cpu_attention = "flash";
    CHECK_THROWS_WITH_AS(bench::bench_main(o), doctest::Contains("--cpu-attention"), vg::Error);
}
