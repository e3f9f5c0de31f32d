// Loader: builds training/eval batches on background threads. Batch k of epoch e depends only on
// (seed, e, k), never on the number of workers or their timing, so runs are reproducible and can
// resume mid-epoch from a LoaderState.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/tensor.h"
#include "train/augment/augment.h"
#include "train/data/dataset.h"

namespace vg {

struct LoaderConfig {
    int64_t batch_size = 128;  // the CIFAR recipes use 128-512
    bool train = true;         // false: dataset order, normalisation only, hard labels only
    bool shuffle = true;  // train mode: seeded shuffle each epoch (RASampler when aug.repeats > 1)
    bool drop_last = true;  // drop the final partial batch (timm does for training)
    int workers = 2;        // background threads; 0 builds batches synchronously in next()
    int prefetch = 4;       // batches built ahead of the consumer
    uint64_t seed = 0;      // data order and augmentation seed
    AugmentConfig aug;      // train mode only
    // Polled between images while a batch is built and while next() waits for one: when it
    // returns true (the trainer passes stop_requested), building stops and next() returns false
    // before the epoch is exhausted, so a stop signal is not held up by a batch in progress.
    bool (*interrupted)() = nullptr;

    // Eval over the whole split: no shuffle, no augmentation, partial last batch kept.
    static LoaderConfig eval(int64_t batch_size, int workers = 1);
};

struct Batch {
    Tensor images;   // float32 [B, C, H, W] on the CPU, normalised
    Tensor labels;   // int64 [B]: each sample's own label
    Tensor targets;  // float32 [B, K] soft targets (mixup/cutmix/smoothing); undefined otherwise
    int64_t epoch = 0, index = 0;  // which batch of which epoch
    double lam = 1.0;              // mixing weight of the sample's own label (1: not mixed)
    bool cutmix = false;
    std::vector<int64_t> indices;  // dataset index of each row
};

// What to save to resume: the next batch next() would return.
struct LoaderState {
    uint64_t seed = 0;
    int64_t epoch = 0;
    int64_t batch = 0;
};

// Dataset indices in the order epoch `epoch` visits them. `repeats` > 1 is DeiT's RASampler for
// rank 0 of `replicas` processes: shuffle, repeat each index `repeats` times in place, pad, take
// every `replicas`-th, keep floor(n / 256) * 256 / replicas (n / replicas when n < 256).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle,
                                 int repeats = 1, int replicas = 1);

// The first `count` images of `ds` as float32 [count, C, H, W], normalised with `stats` (the fixed
// image sets of the internals measurements).
Tensor eval_images(const Dataset& ds, int64_t count, const NormStats& stats);

class Loader {
  public:
    Loader(std::shared_ptr<const Dataset> dataset, LoaderConfig cfg);
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    int64_t samples_per_epoch() const { return samples_; }
    int64_t batches_per_epoch() const;
    const LoaderConfig& config() const { return cfg_; }
    const Dataset& dataset() const { return *ds_; }
    NormStats stats() const { return stats_; }

    // Positions the loader so the next next() returns batch `s.batch` of epoch `s.epoch`;
    // `s.seed` replaces the configured seed.
    void seek(const LoaderState& s);
    void start_epoch(int64_t epoch) { seek({cfg_.seed, epoch, 0}); }
    // The next batch of the current epoch; false once the epoch is exhausted (start the next) or
    // when `interrupted` fired (then state().batch is the batch that was not delivered).
    bool next(Batch& out);
    LoaderState state() const;

    // Builds batch `index` of `epoch` on the calling thread (what the workers run).
    Batch make_batch(int64_t epoch, int64_t index) const;

  private:
    struct Raw {
        std::vector<float> images, targets;
        std::vector<int64_t> labels, indices;
        double lam = 1.0;
        bool cutmix = false;
    };
    Raw build(const std::vector<int64_t>& order, int64_t epoch, int64_t index) const;
    Batch to_batch(Raw&& raw, int64_t epoch, int64_t index) const;
    void stop_workers();
    void worker_loop();

    std::shared_ptr<const Dataset> ds_;
    LoaderConfig cfg_;
    NormStats stats_;
    int64_t samples_ = 0;

    // Current epoch; guarded by mu_ while workers run.
    std::shared_ptr<const std::vector<int64_t>> order_;
    int64_t epoch_ = 0, next_claim_ = 0, next_out_ = 0, end_ = 0;
    bool started_ = false, stop_ = false;
    std::map<int64_t, Raw> ready_;
    std::exception_ptr error_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::thread> threads_;
};

}  // namespace vg
