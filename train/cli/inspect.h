// `vitgrad inspect`: run a model on one batch and write its logits and every layer's attention
// internals (maps; for GPSA also content, positional parts and gates) to a safetensors file. With
// --attn-init it also reports, per block and head, how well the attention hits the init's target
// tap: on the pseudo-input the init fitted and on the batch (train/init/attn_init.h).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace vg {

struct InspectOptions {
    std::string model;       // registry name (or taken from the checkpoint)
    std::string checkpoint;  // a `vitgrad train` checkpoint (uses its model weights)
    std::string weights;     // or a plain safetensors state dict (timm names)
    bool use_ema = false;
    std::string input;  // safetensors holding "images" [B, C, H, W] (already normalised)
    std::string dataset = "cifar10";  // when no --input: the first `count` test images
    std::string data_dir;
    int64_t count = 16;
    std::string output = "inspect.safetensors";
    std::string device = "cpu";
    bool logits_only = false;  // no internals; the forward runs in chunks (whole test sets)
    std::string model_kwargs;  // default: the checkpoint's (models::apply_model_kwargs)
    std::string attn_init;     // re-run this init (after --seed) to report its target fit
    std::string attn_init_cache = "runs/attn_init_cache";
    uint64_t seed = 0;
};

CLI::App* add_inspect_command(CLI::App& app, InspectOptions& opts);
int inspect_main(const InspectOptions& opts);

}  // namespace vg
