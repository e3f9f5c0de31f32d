// `vitgrad info`: prints the build's backends, the CUDA devices it sees, the thread pool size and
// where datasets are looked up; `--has-gpu` answers by exit code only (used by setup.sh).
#include "train/cli/info.h"

#include <fmt/core.h>
#include <omp.h>

#include <filesystem>

#include "train/data/data_paths.h"

#if VG_WITH_CUDA
#include "cuda/runtime.h"
#endif

namespace vg {

CLI::App* add_info_command(CLI::App& app, InfoOptions& opts) {
    CLI::App* info =
        app.add_subcommand("info", "show backends, devices, threads and the data root");
    info->add_flag("--has-gpu", opts.has_gpu,
                   "print nothing; exit 0 when a CUDA device is usable, 1 otherwise");
    return info;
}

int info_main(const InfoOptions& opts) {
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
