// `vitgrad info`: prints the build's backends, the CUDA devices it sees, the thread pool size and
// where datasets are looked up; `--has-gpu` answers by exit code only (used by setup.sh).
#include "train/cli/info.h"

#include <fmt/core.h>
#include <omp.h>

#include <filesystem>

#include "models/config_fields.h"
#include "models/registry.h"
#include "train/data/data_paths.h"
#include "train/run/cli_options.h"

#if VG_WITH_CUDA
#include "cuda/runtime.h"
#endif

namespace vg {

namespace {

TextRange model_names_domain() {
    return one_of(models::model_names, "a name listed by `vitgrad models`");
}

std::string millions(int64_t n) { return fmt::format("{:.2f}M", double(n) / 1e6); }
std::string giga(int64_t n) { return fmt::format("{:.3f}G", double(n) / 1e9); }

int print_model(const std::string& name) {
    models::ModelConfig c = models::model_config(name);
    size_t width = 0;
    auto fields = models::config_fields(c);
    for (auto& [k, v] : fields) width = std::max(width, k.size());
    fmt::print("{}\n", name);
    for (auto& [k, v] : fields) fmt::print("  {:<{}}  {}\n", k, width, v);
    fmt::print("  {:<{}}  {}\n", "patches", width, c.num_patches());
    fmt::print("  {:<{}}  {} ({})\n", "parameters", width, models::count_parameters(c),
               millions(models::count_parameters(c)));
    fmt::print("  {:<{}}  {} ({} per image, forward)\n", "flops", width, models::forward_flops(c),
               giga(models::forward_flops(c)));
    return 0;
}

}  // namespace

CLI::App* add_info_command(CLI::App& app, InfoOptions& opts) {
    CLI::App* info =
        app.add_subcommand("info", "show backends, devices, threads and the data root");
    info->add_flag("--has-gpu", opts.has_gpu,
                   "print nothing; exit 0 when a CUDA device is usable, 1 otherwise");
    add_checked_option(info, "--model", opts.model,
                       "print the full configuration of this registry model instead",
                       model_names_domain(), "info");
    return info;
}

CLI::App* add_models_command(CLI::App& app) {
    return app.add_subcommand(
        "models", "list the registry models: parameters, forward FLOPs per image, input size");
}

int models_main() {
    std::vector<std::vector<std::string>> rows = {
        {"name", "arch", "params", "FLOPs/img", "input", "patch", "dim", "depth", "heads"}};
    for (const std::string& name : models::model_names()) {
        models::ModelConfig c = models::model_config(name);
        rows.push_back({name, models::arch_name(c.arch), millions(models::count_parameters(c)),
                        giga(models::forward_flops(c)),
                        fmt::format("{}x{}x{}", c.in_chans, c.img_size, c.img_size),
                        std::to_string(c.patch_size), std::to_string(c.embed_dim),
                        std::to_string(c.depth), std::to_string(c.num_heads)});
    }
    std::vector<size_t> width(rows[0].size(), 0);
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    for (const auto& r : rows) {
        std::string line;
        for (size_t i = 0; i < r.size(); ++i)  // names left-aligned, numbers right-aligned
            line += i < 2 ? fmt::format("{:<{}}  ", r[i], width[i])
                          : fmt::format("{:>{}}  ", r[i], width[i]);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        fmt::print("{}\n", line);
    }
    fmt::print(
        "FLOPs: forward, 2 per multiply-add of every matmul (papers often quote multiply-adds, "
        "half as many)\ndetails of one model: vitgrad info --model NAME\n");
    return 0;
}

int info_main(const InfoOptions& opts) {
    if (!opts.model.empty()) return print_model(opts.model);
#if VG_WITH_CUDA
    int gpus = cuda::available() ? cuda::device_count() : 0;
    const bool built_with_cuda = true;
#else
    int gpus = 0;
    const bool built_with_cuda = false;
#endif
    if (opts.has_gpu) return gpus > 0 ? 0 : 1;
    fmt::print("vitgrad\n");
    fmt::print("  CPU backend   : Eigen GEMM, one OpenMP pool of {} threads\n",
               omp_get_max_threads());
    fmt::print("  CUDA backend  : {}\n",
               built_with_cuda ? "built" : "not built in this configuration");
    fmt::print("  CUDA devices  : {}\n", gpus);
    std::filesystem::path root = resolve_data_root();
    bool exists = std::filesystem::exists(root);
    fmt::print("  data root     : {} ({})\n", root.string(),
               exists ? "found" : "missing: set --data-dir or $VITGRAD_DATA");
    return 0;
}

}  // namespace vg
