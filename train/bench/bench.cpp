// `vitgrad bench`: the command-line entry, result tables and the JSON report.
#include "train/bench/bench.h"

#include <fmt/format.h>
#include <omp.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "autograd/ops.h"
#include "core/cpu_gemm.h"
#include "core/error.h"
#include "models/registry.h"
#include "train/bench/bench_timing.h"
#include "train/run/cli_options.h"

#if VG_WITH_CUDA
#include "cuda/runtime.h"
#endif

namespace vg::bench {

namespace {

std::string load_average() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return f ? a + " " + b + " " + c : "n/a";
}

nlohmann::json to_json(const Timing& t) {
    return {{"median_ms", t.median}, {"min_ms", t.min}, {"max_ms", t.max},
            {"q1_ms", t.q1},         {"q3_ms", t.q3},   {"reps", t.reps}};
}

// A process-wide setting that an option changes for one bench_main call only: the value it had
// is given back to `set` when the call returns or throws.
template <typename T, typename Set>
class ScopedSetting {
  public:
    ScopedSetting(T saved, Set set) : saved_(std::move(saved)), set_(std::move(set)) {}
    ~ScopedSetting() { set_(saved_); }
    ScopedSetting(const ScopedSetting&) = delete;
    ScopedSetting& operator=(const ScopedSetting&) = delete;

  private:
    T saved_;
    Set set_;
};

// A rate as a fraction of the GEMM ceiling or of the FMA peak (0 where that is unknown).
double fraction(double gflops, double of) { return of > 0 ? gflops / of : 0; }
// "55%", or "" where the FMA peak was not measured (CUDA, float64, --no-fma-peak).
std::string pct_cell(double gflops, double of) {
    return of > 0 && gflops > 0 ? fmt::format("{:.0f}%", 100.0 * fraction(gflops, of)) : "";
}

nlohmann::json op_json(const std::string& model, int64_t batch, const OpResult& r,
                       const Ceiling& c) {
    return {{"model", model},
            {"batch", batch},
            {"op", r.name},
            {"shape", r.shape},
            {"time", to_json(r.t)},
            {"flops", r.flops},
            {"bytes", r.bytes},
            {"gflops", r.gflops()},
            {"gbps", r.gbps()},
            {"ceiling_fraction", fraction(r.gflops(), c.gemm_gflops)},
            {"fma_peak_fraction", fraction(r.gflops(), c.fma_gflops)}};
}

// Drops the results of ops that `--filter` skipped.
std::vector<OpResult> timed(std::vector<OpResult> ops) {
    std::erase_if(ops, [](const OpResult& r) { return r.t.reps == 0; });
    return ops;
}

void print_ops(const std::string& model, int64_t batch, const std::vector<OpResult>& ops,
               const Ceiling& c) {
    if (ops.empty()) return;
    fmt::print("\nop level: {} shapes at batch {}\n", model, batch);
    fmt::print("{:<30} {:<28} {:>10} {:>21} {:>9} {:>7} {:>6} {:>7}\n", "op", "shape", "median ms",
               "[min, max] ms", "GFLOP/s", "%ceil", "%FMA", "GB/s");
    for (const OpResult& r : ops) {
        std::string gf = r.flops > 0 ? fmt::format("{:.1f}", r.gflops()) : "";
        std::string gb = r.bytes > 0 ? fmt::format("{:.1f}", r.gbps()) : "";
        fmt::print("{:<30} {:<28} {:>10.3f} {:>21} {:>9} {:>7} {:>6} {:>7}\n", r.name, r.shape,
                   r.t.median, fmt::format("[{:.3f}, {:.3f}]", r.t.min, r.t.max), gf,
                   pct_cell(r.gflops(), c.gemm_gflops), pct_cell(r.gflops(), c.fma_gflops), gb);
    }
}

void print_step_header() {
    fmt::print("\nstep level (forward + cross-entropy + backward + AdamW)\n");
    fmt::print(
        "{:<13} {:>9} {:>5} {:>3} {:>9} {:>19} {:>7} {:>8} {:>8} {:>6} {:>5} {:>24} {:>9} {:>5}\n",
        "model", "params", "batch", "thr", "ms/step", "[min, max]", "img/s", "GFLOP", "GFLOP/s",
        "%ceil", "%FMA", "fwd / bwd / opt ms", "peak MiB", "fresh");
}

void print_step(const StepResult& r, const Ceiling& c) {
    std::string phases = r.forward.reps ? fmt::format("{:.0f} / {:.0f} / {:.0f}", r.forward.median,
                                                      r.backward.median, r.optim.median)
                                        : "";
    fmt::print(
        "{:<13} {:>9} {:>5} {:>3} {:>9.1f} {:>19} {:>7.1f} {:>8.1f} {:>8.1f} {:>6} {:>5} {:>24} "
        "{:>9.1f} {:>5}\n",
        r.model, r.params, r.batch, r.threads, r.step.median,
        fmt::format("[{:.1f}, {:.1f}]", r.step.min, r.step.max), r.images_per_s(),
        r.flops_per_step / 1e9, r.gflops(), pct_cell(r.gflops(), c.gemm_gflops),
        pct_cell(r.gflops(), c.fma_gflops), phases, double(r.peak_bytes) / (1 << 20),
        r.fresh_allocations);
    std::fflush(stdout);
}

DType parse_dtype(const std::string& s) {
    if (s == "float32" || s == "f32") return DType::F32;
    if (s == "float64" || s == "f64") return DType::F64;
    fail("bench", "unsupported --dtype '{}' (expected float32 or float64)", s);
}

}  // namespace

int bench_main(const BenchOptions& o) {
    if (o.ops_only && o.steps_only) fail("bench", "--ops-only and --steps-only exclude each other");
    if (o.reps < 1 || o.warmup < 0) fail("bench", "need --reps >= 1 and --warmup >= 0");
    if (o.threads > 0) omp_set_num_threads(o.threads);
    const Device device = Device::parse(o.device);
#if VG_WITH_CUDA
    if (device.is_cuda() && !cuda::available())
        fail("bench", "--device {}: no CUDA device", o.device);
#endif
    const DType dtype = parse_dtype(o.dtype);
    if (!o.cpu_gemm.empty()) set_cpu_gemm(o.cpu_gemm == "eigen" ? CpuGemm::Eigen : CpuGemm::OneDnn);
    if (o.cpu_attention != "fused" && o.cpu_attention != "composite")
        fail("bench", "--cpu-attention {}: expected fused or composite", o.cpu_attention);
    ScopedSetting attention(fused_cpu_attention(), set_fused_cpu_attention);
    set_fused_cpu_attention(o.cpu_attention != "composite");
    for (const std::string& m : o.models) (void)bench_config(m);  // unknown names fail up front
    for (int64_t b : o.batches)
        if (b < 1) fail("bench", "batch sizes must be positive, got {}", b);

    nlohmann::json report;
    report["device"] = device.str();
    report["dtype"] = o.dtype;
    report["threads"] = omp_get_max_threads();
    report["cpu_gemm"] = cpu_gemm_name(cpu_gemm());
    report["cpu_attention"] = o.cpu_attention;
    report["load_average_start"] = load_average();
    if (!o.quiet)
        fmt::print(
            "vitgrad bench: device {}, dtype {}, {} OpenMP threads, CPU GEMM {}, CPU attention {}, "
            "load average {}\n",
            device.str(), o.dtype, omp_get_max_threads(), cpu_gemm_name(cpu_gemm()),
            o.cpu_attention, load_average());

    // The ceiling is timed before --filter applies: every op's share is taken against it.
    Ceiling ceil =
        measure_ceiling(o.ceiling_n, device, dtype, o.warmup, std::max(o.reps, 3), o.fma_peak);
    ScopedSetting filter(op_filter(), [](const std::string& f) { op_filter() = f; });
    op_filter() = o.filter;
    report["ceiling"] = {{"gemm_n", ceil.n},
                         {"gemm", to_json(ceil.t)},
                         {"gemm_gflops", ceil.gemm_gflops},
                         {"fma_peak_gflops", ceil.fma_gflops}};
    if (!o.quiet)
        fmt::print(
            "GEMM ceiling: {0}x{0}x{0} SGEMM through vg::matmul {1:.1f} GFLOP/s ({2:.1f} ms); "
            "FMA peak {3:.1f} GFLOP/s\n",
            ceil.n, ceil.gemm_gflops, ceil.t.median, ceil.fma_gflops);

    if (!o.steps_only) {
        nlohmann::json jops = nlohmann::json::array();
        const int64_t batch = o.batches.empty() ? 64 : o.batches.front();
        for (const std::string& m : o.models) {
            std::vector<OpResult> ops =
                timed(bench_ops(bench_config(m), batch, device, dtype, o.warmup, o.reps));
            if (!o.quiet) print_ops(m, batch, ops, ceil);
            for (const OpResult& r : ops) jops.push_back(op_json(m, batch, r, ceil));
        }
        std::vector<OpResult> conv = timed(bench_conv_ops(batch, device, dtype, o.warmup, o.reps));
        if (!o.quiet) print_ops("convolution family (FCViT, Refiner)", batch, conv, ceil);
        for (const OpResult& r : conv) jops.push_back(op_json("conv", batch, r, ceil));
        report["ops"] = jops;
    }

    bool finite = true;
    if (!o.ops_only) {
        nlohmann::json jsteps = nlohmann::json::array();
        if (!o.quiet) print_step_header();
        for (const std::string& m : o.models)
            for (int64_t b : o.batches) {
                StepResult r = bench_step(m, b, device, dtype, o.warmup, o.reps, o.phases);
                finite = finite && std::isfinite(r.loss) && std::isfinite(r.step.median);
                if (!o.quiet) print_step(r, ceil);
                nlohmann::json j = {{"model", r.model},
                                    {"params", r.params},
                                    {"batch", r.batch},
                                    {"device", r.device},
                                    {"dtype", r.dtype},
                                    {"threads", r.threads},
                                    {"step", to_json(r.step)},
                                    {"ms_per_step", r.step.median},
                                    {"images_per_s", r.images_per_s()},
                                    {"flops_per_step", r.flops_per_step},
                                    {"gflops", r.gflops()},
                                    {"ceiling_fraction", fraction(r.gflops(), ceil.gemm_gflops)},
                                    {"fma_peak_fraction", fraction(r.gflops(), ceil.fma_gflops)},
                                    {"loss", r.loss},
                                    {"peak_bytes", r.peak_bytes},
                                    {"reserved_bytes", r.reserved_bytes},
                                    {"fresh_allocations", r.fresh_allocations}};
                if (r.forward.reps)
                    j["phases"] = {{"forward", to_json(r.forward)},
                                   {"backward", to_json(r.backward)},
                                   {"optimizer", to_json(r.optim)}};
                jsteps.push_back(j);
            }
        report["steps"] = jsteps;
    }
    report["load_average_end"] = load_average();
    if (!o.quiet) fmt::print("load average at the end: {}\n", load_average());

    if (!o.json.empty()) {
        std::ofstream f(o.json);
        if (!f) fail("bench", "cannot write --json file '{}'", o.json);
        f << report.dump(2) << "\n";
    }
    return finite ? 0 : 1;
}

CLI::App* add_bench_command(CLI::App& app, BenchOptions& o) {
    CLI::App* b = app.add_subcommand(
        "bench", "time ops and full training steps (CPU or CUDA), with the machine's GEMM ceiling");
    b->add_option("--model", o.models,
                  "models: convit_ti4, deit_ti4, convit_micro, deit_micro, fcvit_cifar_tiny or any "
                  "registry name")
        ->delimiter(',')
        ->capture_default_str();
    add_checked_list(b, "--batch", o.batches,
                     "batch sizes (the first one is used for the op level)",
                     closed<int64_t>(1, 65536), "bench")
        ->delimiter(',');
    add_checked_option(b, "--threads", o.threads, "OpenMP threads (0: OpenMP's default)",
                       closed(0, 1024), "bench");
    add_checked_option(b, "--device", o.device, "where to run", device_names(), "bench");
    add_checked_option(b, "--dtype", o.dtype, "element type", one_of({"float32", "float64"}),
                       "bench");
    add_checked_option(b, "--cpu-gemm", o.cpu_gemm,
                       "library for the CPU's float32 GEMMs (default: onednn where built in)",
                       one_of({"eigen", "onednn"}), "bench");
    add_checked_option(b, "--cpu-attention", o.cpu_attention,
                       "multi-head attention on the CPU: one fused kernel per (image, head), or "
                       "the composite of batched GEMMs, softmax and gate that CUDA runs",
                       one_of({"fused", "composite"}), "bench");
    add_checked_option(b, "--warmup", o.warmup, "untimed runs before timing", closed(0, 1000),
                       "bench");
    add_checked_option(b, "--reps", o.reps, "timed repetitions (median and spread are reported)",
                       closed(1, 10000), "bench");
    b->add_flag("--ops-only", o.ops_only, "only the op-level benchmarks");
    b->add_flag("--steps-only", o.steps_only, "only the step-level benchmarks");
    b->add_flag("!--no-phases", o.phases, "skip the forward / backward / optimiser split");
    b->add_option("--filter", o.filter,
                  "op level: time only the ops whose name contains this text (e.g. dwconv)");
    add_checked_option(b, "--ceiling-n", o.ceiling_n,
                       "size of the square SGEMM that defines the ceiling",
                       closed<int64_t>(1, 16384), "bench");
    b->add_flag("!--no-fma-peak", o.fma_peak,
                "skip the FMA peak measurement (e.g. under a profiler)");
    b->add_option("--json", o.json, "also write every result to this JSON file");
    return b;
}

}  // namespace vg::bench
