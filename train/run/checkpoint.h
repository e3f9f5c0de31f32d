// Training checkpoints: model weights, optimiser state, EMA, schedule position, RNG state,
// data-order state, epoch/step and the metrics so far, in one safetensors file whose metadata
// holds the scalars as a JSON string. Written atomically (temp file, fsync, rename).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "core/tensor.h"
#include "train/optim/optim.h"

namespace vg {

constexpr int kCheckpointVersion = 1;
// The largest checkpoint or weights file read (a ViT-B with AdamW state and EMA is about 1.4 GB):
// anything bigger is refused before it is read into memory.
constexpr uint64_t kMaxCheckpointBytes = uint64_t(64) << 30;

struct Checkpoint {
    std::map<std::string, Tensor> model;  // state dict (parameters + buffers)
    OptimizerState optim;
    std::map<std::string, Tensor> ema;      // empty when EMA is off
    int64_t epoch = 0;                      // epochs completed
    int64_t step = 0;                       // optimiser steps completed
    uint64_t rng_seed = 0, rng_offset = 0;  // vg::default_generator()
    std::string data_state;                 // the loader's resumable state (JSON text)
    std::string config;                     // the TrainConfig that produced it (JSON text)
    std::string metrics;                    // JSON array: one object per finished epoch
    std::string model_name;
    double best_acc = 0;
};

void save_checkpoint(const std::string& path, const Checkpoint& ckpt);
// Validates the format, version and every section; errors name the file and the problem.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace vg
