// `vitgrad info`: what this build of vitgrad can do here (backends, devices, threads, data).
#pragma once
#include <CLI/CLI.hpp>

namespace vg {

struct InfoOptions {
    bool has_gpu = false;  // only answer, through the exit code, whether a CUDA device is usable
};

CLI::App* add_info_command(CLI::App& app, InfoOptions& opts);
int info_main(const InfoOptions& opts);

}  // namespace vg
