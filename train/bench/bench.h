// `vitgrad bench`: op-level (GEMM shapes of the models, softmax, LayerNorm, GELU, elementwise,
// attention layers) and step-level (forward + cross-entropy + backward + AdamW) timings, with the
// machine's GEMM ceiling and FMA peak measured in the same run.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "models/model.h"

namespace CLI {
class App;
}

namespace vg::bench {

struct BenchOptions {
    std::vector<std::string> models = {"convit_ti4", "deit_ti4"};
    std::vector<int64_t> batches = {64, 128};
    int threads = 0;  // 0: OpenMP's default
    std::string device = "cpu";
    std::string dtype = "float32";
    std::string cpu_gemm;                 // "eigen" or "onednn"; empty: the build's default
    std::string cpu_attention = "fused";  // or "composite" (multi_head_attention's two CPU paths)
    int warmup = 2, reps = 5;
    bool ops_only = false, steps_only = false;
    bool phases = true;        // also time forward / backward / optimiser separately
    std::string filter;        // op level: time only the ops whose name contains this
    int64_t ceiling_n = 2048;  // the square SGEMM that defines the ceiling
    bool fma_peak = true;      // also measure the FMA peak (a ~0.1 s register loop)
    std::string json;          // write results here when non-empty
    bool quiet = false;        // no tables on stdout (tests)
};

// Median and spread of repeated timings, in milliseconds.
struct Timing {
    double median = 0, min = 0, max = 0, q1 = 0, q3 = 0;
    int reps = 0;
};
Timing summarize(std::vector<double> ms);

struct OpResult {
    std::string name, shape;  // e.g. "matmul", "[8320,192]@[192,576]"
    Timing t;                 // per call
    double flops = 0;         // per call (0 for memory-bound ops)
    double bytes = 0;         // per call, minimal traffic (0 for GEMMs)
    double gflops() const { return flops > 0 ? flops / (t.median * 1e6) : 0; }
    double gbps() const { return bytes > 0 ? bytes / (t.median * 1e6) : 0; }
};

struct StepResult {
    std::string model;
    int64_t params = 0, batch = 0;
    std::string device, dtype;
    int threads = 0;
    Timing step;                      // whole step
    Timing forward, backward, optim;  // the same steps split by phase (when measured)
    double flops_per_step = 0;        // 3 x forward FLOPs x batch
    double loss = 0;                  // of the last step (finite check)
    int64_t peak_bytes = 0;           // allocator peak during the timed steps
    int64_t reserved_bytes = 0;       // held by the caching allocator afterwards
    int64_t fresh_allocations = 0;    // system allocations during the timed steps (0 when warm)
    double images_per_s() const { return step.median > 0 ? batch * 1e3 / step.median : 0; }
    double gflops() const { return step.median > 0 ? flops_per_step / (step.median * 1e6) : 0; }
};

struct Ceiling {
    int64_t n = 0;
    Timing t;
    double gemm_gflops = 0;  // n^3 SGEMM through vg's matmul
    double fma_gflops = 0;   // register-only FMA loop on every thread (0 when not measurable)
};

// Benchmark configurations: the registry's names (among them convit_micro / deit_micro, the peer
// figures' "micro": D96, H4, L6, 4 GPSA layers), plus convit_ti4 / deit_ti4 for the registry's
// CIFAR Ti/4 configs convit_cifar_tiny / deit_cifar_tiny.
models::ModelConfig bench_config(const std::string& name);

Ceiling measure_ceiling(int64_t n, Device device, DType dtype, int warmup, int reps, bool fma_peak);
double measure_fma_peak();  // GFLOP/s, CPU only
std::vector<OpResult> bench_ops(const models::ModelConfig& cfg, int64_t batch, Device device,
                                DType dtype, int warmup, int reps);
// Convolution-family ops at the shapes FCViT (CIFAR, stride-2 stem: 11x11 depthwise at C = 32 / 64
// / 160 / 320 on 16 / 8 / 4 / 2 maps, 3x3 depthwise over 8 / 8 / 4 / 4 times as many hidden
// channels) and Refiner (DeiT-Ti: 3 heads expanded to 9 on 65 x 65 maps) run: depthwise forward
// and both gradients, the 1x1 convolutions, batch_norm and relu6.
std::vector<OpResult> bench_conv_ops(int64_t batch, Device device, DType dtype, int warmup,
                                     int reps);
StepResult bench_step(const std::string& model, int64_t batch, Device device, DType dtype,
                      int warmup, int reps, bool phases);

// Runs what `o` asks for, prints tables (unless quiet) and writes JSON; returns the exit code.
int bench_main(const BenchOptions& o);
// Registers the `bench` subcommand on `app`; the CLI calls bench_main(opts) when it was given.
CLI::App* add_bench_command(CLI::App& app, BenchOptions& opts);

}  // namespace vg::bench
