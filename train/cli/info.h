// `vitgrad info`: what this build of vitgrad can do here (backends, devices, threads, data), or
// with --model NAME the full configuration of one registry model; `vitgrad models`: the registry
// as a table (what timm.list_models answers).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace vg {

struct InfoOptions {
    bool has_gpu = false;  // only answer, through the exit code, whether a CUDA device is usable
    std::string model;     // print this registry model's configuration instead
};

CLI::App* add_info_command(CLI::App& app, InfoOptions& opts);
int info_main(const InfoOptions& opts);

CLI::App* add_models_command(CLI::App& app);
int models_main();

}  // namespace vg
