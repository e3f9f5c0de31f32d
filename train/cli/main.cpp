// The `vitgrad` command-line tool: demo, train, eval, inspect, bench, info.
#include <fmt/format.h>
#include <omp.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/error.h"
#include "core/random.h"
#include "train/bench/bench.h"
#include "train/cli/info.h"
#include "train/cli/inspect.h"
#include "train/optim/optim.h"
#include "train/run/checkpoint.h"
#include "train/run/config.h"
#include "train/run/trainer.h"

using namespace vg;

namespace {

// A 2-layer MLP (in -> hidden -> classes, GELU) trained with AdamW on synthetic data whose labels
// come from a random linear teacher: shows the autograd engine and the optimiser end to end.
int run_demo(int steps, int64_t batch, uint64_t seed) {
    manual_seed(seed);
    const int64_t in = 16, hidden = 64, classes = 4, n = 1024;
    Tensor x = Tensor::randn({n, in});
    Tensor teacher = Tensor::randn({in, classes});
    Tensor labels = argmax(matmul(x, teacher), 1);

    Tensor w1 = mul_scalar(Tensor::randn({hidden, in}), 1.0 / std::sqrt(double(in)));
    Tensor b1 = Tensor::zeros({hidden});
    Tensor w2 = mul_scalar(Tensor::randn({classes, hidden}), 1.0 / std::sqrt(double(hidden)));
    Tensor b2 = Tensor::zeros({classes});
    for (Tensor* p : {&w1, &b1, &w2, &b2}) p->requires_grad_();
    AdamW opt({{"fc1.weight", w1}, {"fc1.bias", b1}, {"fc2.weight", w2}, {"fc2.bias", b2}},
              {.lr = 1e-2, .weight_decay = 1e-4});

    fmt::print("demo: 2-layer MLP {} -> {} -> {} on {} synthetic samples, batch {}, AdamW lr {}\n",
               in, hidden, classes, n, batch, opt.lr());
    double first = 0, last = 0;
    for (int step = 0; step < steps; ++step) {
        int64_t start = (step * batch) % (n - batch + 1);
        Tensor xb = x.narrow(0, start, batch), yb = labels.narrow(0, start, batch).contiguous();
        Tensor logits = linear(gelu(linear(xb, w1, b1)), w2, b2);
        Tensor loss = cross_entropy(logits, yb);
        opt.zero_grad();
        loss.backward();
        opt.step();
        double l = loss.item();
        if (step == 0) first = l;
        last = l;
        if (step % 20 == 0 || step == steps - 1) fmt::print("step {:4d}  loss {:.4f}\n", step, l);
    }
    NoGradGuard no_grad;
    Tensor pred = argmax(linear(gelu(linear(x, w1, b1)), w2, b2), 1);
    double acc = mean(eq(pred.to(DType::F32), labels.to(DType::F32))).item();
    fmt::print("demo: loss {:.4f} -> {:.4f}, training accuracy {:.1f}%\n", first, last, 100 * acc);
    return last < first ? 0 : 1;
}

// Registers every TrainConfig knob as --name (underscores as dashes); values are applied after
// the config file so that flags override it.
void add_knob_flags(CLI::App* app, std::vector<std::pair<std::string, std::string>>& given,
                    const std::vector<std::string>& skip) {
    for (const Knob& k : train_knobs()) {
        if (std::find(skip.begin(), skip.end(), k.name) != skip.end()) continue;
        std::string flag = "--" + k.name;
        std::replace(flag.begin(), flag.end(), '_', '-');
        TrainConfig defaults;
        std::string name = k.name;
        auto* opt = app->add_option_function<std::string>(
            flag, [&given, name](const std::string& v) { given.emplace_back(name, v); },
            k.help + " [default: " + k.get(defaults) + "]");
        opt->type_name(k.type);
        if (k.is_bool) opt->expected(0, 1)->default_str("true");
        opt->group("Recipe");
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"vitgrad: train vision transformers (ConViT, DeiT) from scratch in C++"};
    app.require_subcommand(1);

    // demo ---------------------------------------------------------------------------------------
    CLI::App* demo =
        app.add_subcommand("demo", "train a 2-layer MLP on synthetic data (autograd + AdamW)");
    int demo_steps = 200;
    int64_t demo_batch = 64;
    uint64_t demo_seed = 0;
    demo->add_option("--steps", demo_steps, "optimiser steps")->capture_default_str();
    demo->add_option("--batch", demo_batch, "batch size")->capture_default_str();
    demo->add_option("--seed", demo_seed, "random seed")->capture_default_str();

    // train --------------------------------------------------------------------------------------
    CLI::App* train = app.add_subcommand(
        "train",
        "train a registry model on CIFAR-10/100 or Fashion-MNIST (defaults: the CIFAR recipe)");
    std::string config_file;
    std::vector<std::pair<std::string, std::string>> given;
    train->add_option("--config", config_file, "config file: JSON object or `key = value` lines");
    add_knob_flags(train, given, {});

    // eval ---------------------------------------------------------------------------------------
    CLI::App* eval = app.add_subcommand("eval", "evaluate a checkpoint on the test set");
    std::string ckpt_path;
    std::vector<std::pair<std::string, std::string>> eval_given;
    eval->add_option("checkpoint", ckpt_path, "checkpoint file (from `vitgrad train`)")->required();
    bool eval_ema = false;
    eval->add_flag("--ema", eval_ema, "evaluate the EMA weights (runs trained with --ema)");
    std::string eval_predictions;
    eval->add_option("--predictions", eval_predictions,
                     "write index,label,predicted of every test image to this CSV file");
    for (const char* name : {"data_dir", "device", "threads", "limit_test", "eval_batch_size"}) {
        std::string n = name, flag = "--" + n;
        std::replace(flag.begin(), flag.end(), '_', '-');
        for (const Knob& k : train_knobs())
            if (k.name == n)
                eval->add_option_function<std::string>(
                        flag,
                        [&eval_given, n](const std::string& v) { eval_given.emplace_back(n, v); },
                        k.help)
                    ->type_name(k.type);
    }

    // bench --------------------------------------------------------------------------------------
    bench::BenchOptions bench_opts;
    CLI::App* bench = bench::add_bench_command(app, bench_opts);

    // inspect, info -------------------------------------------------------------------------------
    InspectOptions inspect_opts;
    CLI::App* inspect = add_inspect_command(app, inspect_opts);
    InfoOptions info_opts;
    CLI::App* info = add_info_command(app, info_opts);

    CLI11_PARSE(app, argc, argv);
    try {
        if (*demo) return run_demo(demo_steps, demo_batch, demo_seed);
        if (*bench) return bench::bench_main(bench_opts);
        if (*inspect) return inspect_main(inspect_opts);
        if (*info) return info_main(info_opts);
        if (*train) {
            // Precedence: the resumed run's saved config, then the config file, then flags.
            TrainConfig cfg;
            if (!config_file.empty()) apply_config_file(cfg, config_file);
            for (auto& [k, v] : given) set_knob(cfg, k, v);
            if (!cfg.resume.empty()) {
                TrainConfig resumed;
                apply_config_text(resumed, load_checkpoint(cfg.resume).config, cfg.resume);
                resumed.stop_after = 0;
                if (!config_file.empty()) apply_config_file(resumed, config_file);
                for (auto& [k, v] : given) set_knob(resumed, k, v);
                resumed.resume = cfg.resume;
                cfg = resumed;
            }
            if (cfg.threads > 0) omp_set_num_threads(cfg.threads);
            return run_training(cfg);
        }
        if (*eval) {
            TrainConfig overrides;
            for (auto& [k, v] : eval_given) set_knob(overrides, k, v);
            if (overrides.threads > 0) omp_set_num_threads(overrides.threads);
            std::vector<std::string> keys;
            for (auto& [k, v] : eval_given) keys.push_back(k);
            return run_eval(ckpt_path, overrides, keys, eval_ema, eval_predictions);
        }
    } catch (const Error& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
    return 0;
}
