// Writes the fixtures of the install checks: a checkpoint of a freshly initialised
// convit_cifar_micro (what `vitgrad train` would save before its first step) and a batch of
// images, so that the checks need no dataset.
//   vg_tiny_checkpoint CHECKPOINT IMAGES
#include <fmt/format.h>

#include "core/random.h"
#include "core/safetensors.h"
#include "models/registry.h"
#include "train/run/checkpoint.h"
#include "train/run/config.h"

int main(int argc, char** argv) {
    if (argc != 3) {
        fmt::print(stderr, "usage: vg_tiny_checkpoint CHECKPOINT IMAGES\n");
        return 2;
    }
    try {
        vg::TrainConfig cfg;
        cfg.model = "convit_cifar_micro";
        vg::manual_seed(0);
        auto model = vg::models::create_model(cfg.model);
        vg::Checkpoint c;
        c.model = model->state_dict();
        c.optim.kind = "adamw";
        c.config = vg::config_to_json(cfg);
        c.metrics = "[]";
        c.data_state = R"({"seed": 0, "epoch": 0, "batch": 0})";
        c.model_name = cfg.model;
        vg::save_checkpoint(argv[1], c);
        vg::Generator g(1);
        vg::Tensor images =
            vg::Tensor::randn({4, 3, 32, 32}, vg::DType::F32, vg::Device::cpu(), &g);
        vg::save_safetensors(argv[2], {{"images", images}});
    } catch (const vg::Error& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
    return 0;
}
