// The `vitgrad` command-line tool: demo, train, eval, inspect, bench, info.
#include <fmt/format.h>
#include <omp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <new>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/error.h"
#include "core/random.h"
#include "train/bench/bench.h"
#include "train/cli/info.h"
#include "train/cli/inspect.h"
#include "train/optim/optim.h"
#include "train/run/checkpoint.h"
#include "train/run/cli_options.h"
#include "train/run/config.h"
#include "train/run/trainer.h"

using namespace vg;

namespace {

constexpr int64_t kDemoSamples = 1024;

// A 2-layer MLP (in -> hidden -> classes, GELU) trained with AdamW on synthetic data whose labels
// come from a random linear teacher: shows the autograd engine and the optimiser end to end.
// Succeeds when the loss over all samples fell; otherwise one error line and exit code 1.
int run_demo(int steps, int64_t batch, uint64_t seed) {
    manual_seed(seed);
    const int64_t in = 16, hidden = 64, classes = 4, n = kDemoSamples;
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
    auto forward = [&](const Tensor& xb) { return linear(gelu(linear(xb, w1, b1)), w2, b2); };
    auto full_loss = [&] {
        NoGradGuard no_grad;
        return cross_entropy(forward(x), labels).item();
    };

    fmt::print("demo: 2-layer MLP {} -> {} -> {} on {} synthetic samples, batch {}, AdamW lr {}\n",
               in, hidden, classes, n, batch, opt.lr());
    const double before = full_loss();
    for (int step = 0; step < steps; ++step) {
        int64_t start = (step * batch) % (n - batch + 1);
        Tensor xb = x.narrow(0, start, batch), yb = labels.narrow(0, start, batch).contiguous();
        Tensor loss = cross_entropy(forward(xb), yb);
        opt.zero_grad();
        loss.backward();
        opt.step();
        if (step % 20 == 0 || step == steps - 1)
            fmt::print("step {:4d}  loss {:.4f}\n", step, loss.item());
    }
    const double after = full_loss();
    NoGradGuard no_grad;
    double acc = mean(eq(argmax(forward(x), 1).to(DType::F32), labels.to(DType::F32))).item();
    fmt::print("demo: loss over all samples {:.4f} -> {:.4f}, training accuracy {:.1f}%\n", before,
               after, 100 * acc);
    if (std::isfinite(after) && after < before) return 0;
    fmt::print(stderr, "error: demo: the loss did not fall ({:.4f} -> {:.4f})\n", before, after);
    return 1;
}

// Registers the TrainConfig knobs named in `only` (all when empty) as --name (underscores as
// dashes). Values are collected, not applied: the caller applies them after the config file so
// that flags override it, and set_knob checks each against the knob's range.
void add_knob_flags(CLI::App* app, std::vector<std::pair<std::string, std::string>>& given,
                    const std::vector<std::string>& only = {}) {
    const TrainConfig defaults;
    for (const Knob& k : train_knobs()) {
        if (!only.empty() && std::find(only.begin(), only.end(), k.name) == only.end()) continue;
        std::string flag = "--" + k.name;
        std::replace(flag.begin(), flag.end(), '_', '-');
        auto* opt = app->add_option_function<std::string>(
            flag, [&given, flag](const std::string& v) { given.emplace_back(flag, v); },
            help_with_range(k.help, k.allowed, k.get(defaults)));
        opt->type_name(k.type)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
        if (k.is_bool) opt->expected(0, 1)->default_str("true");
        if (only.empty()) opt->group("Recipe");
    }
}

// " (did you mean --x?)" for the unknown flags CLI11 left over in the chosen subcommand.
std::string unknown_flag_hint(CLI::App& app) {
    for (CLI::App* sub : app.get_subcommands()) {
        std::vector<std::string> flags;
        for (const CLI::Option* o : sub->get_options()) flags.push_back(o->get_name());
        for (const std::string& arg : sub->remaining())
            if (arg.rfind("--", 0) == 0) {
                std::string hint = did_you_mean(arg.substr(0, arg.find('=')), flags);
                if (!hint.empty()) return hint;
            }
    }
    return "";
}

// One `error:` line for whatever escaped: vitgrad's own errors, filesystem errors (naming the
// path), exhausted memory, anything else. Returns the exit code.
int report(const std::exception& e) {
    if (auto* fe = dynamic_cast<const std::filesystem::filesystem_error*>(&e))
        fmt::print(stderr, "error: {}: {}\n", fe->path1().string(), fe->code().message());
    else if (dynamic_cast<const std::bad_alloc*>(&e))
        fmt::print(stderr, "error: out of memory\n");
    else
        fmt::print(stderr, "error: {}\n", e.what());
    return 1;
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
    add_checked_option(demo, "--steps", demo_steps, "optimiser steps", closed(1, 100000), "demo");
    add_checked_option(demo, "--batch", demo_batch, "batch size (of the 1024 samples)",
                       closed<int64_t>(1, kDemoSamples), "demo");
    add_checked_option(demo, "--seed", demo_seed, "random seed", closed<uint64_t>(0, UINT64_MAX),
                       "demo");

    // train --------------------------------------------------------------------------------------
    CLI::App* train = app.add_subcommand(
        "train",
        "train a registry model on CIFAR-10/100 or Fashion-MNIST (defaults: the CIFAR recipe)");
    std::string config_file;
    std::vector<std::pair<std::string, std::string>> given;
    train->add_option("--config", config_file, "config file: JSON object or `key = value` lines");
    add_knob_flags(train, given);

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
    add_knob_flags(eval, eval_given,
                   {"data_dir", "device", "threads", "workers", "limit_test", "eval_batch_size"});

    // bench --------------------------------------------------------------------------------------
    bench::BenchOptions bench_opts;
    CLI::App* bench = bench::add_bench_command(app, bench_opts);

    // inspect, info -------------------------------------------------------------------------------
    InspectOptions inspect_opts;
    CLI::App* inspect = add_inspect_command(app, inspect_opts);
    InfoOptions info_opts;
    CLI::App* info = add_info_command(app, info_opts);
    CLI::App* models_cmd = add_models_command(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help
        fmt::print(stderr, "error: {}{} (see --help)\n", e.what(), unknown_flag_hint(app));
        return 1;
    } catch (const std::exception& e) {  // a value rejected by its range
        return report(e);
    }
    try {
        if (*demo) return run_demo(demo_steps, demo_batch, demo_seed);
        if (*bench) return bench::bench_main(bench_opts);
        if (*inspect) return inspect_main(inspect_opts);
        if (*info) return info_main(info_opts);
        if (*models_cmd) return models_main();
        if (*train) {
            // Precedence: the resumed run's saved config, then the config file, then flags.
            TrainConfig cfg;
            if (!config_file.empty()) apply_config_file(cfg, config_file);
            for (auto& [k, v] : given) set_knob(cfg, k, v);
            if (!cfg.resume.empty()) {
                TrainConfig resumed;
                apply_config_text(resumed, load_checkpoint(cfg.resume).config,
                                  cfg.resume + " (saved config)");
                resumed.stop_after = 0;
                if (!config_file.empty()) apply_config_file(resumed, config_file);
                for (auto& [k, v] : given) set_knob(resumed, k, v);
                resumed.resume = cfg.resume;
                cfg = resumed;
            }
            check_config(cfg);
            if (cfg.threads > 0) omp_set_num_threads(cfg.threads);
            return run_training(cfg);
        }
        if (*eval) {
            TrainConfig overrides;
            for (auto& [k, v] : eval_given) set_knob(overrides, k, v);
            if (overrides.threads > 0) omp_set_num_threads(overrides.threads);
            std::vector<std::string> keys;
            for (auto& [k, v] : eval_given) keys.push_back(find_knob(k)->name);
            return run_eval(ckpt_path, overrides, keys, eval_ema, eval_predictions);
        }
    } catch (const std::exception& e) {
        return report(e);
    } catch (...) {
        fmt::print(stderr, "error: unexpected failure\n");
        return 1;
    }
    return 0;
}
