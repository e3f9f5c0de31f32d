// Background batch loader: workers claim batch numbers in order, build them from per-sample
// seeded random streams, and hand them back in order through a small bounded buffer.
#include "train/run/loader.h"

#include <chrono>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "train/augment/sample_rng.h"

namespace vg {

namespace {

// Thrown by build() when the loader's `interrupted` hook fires; never leaves the loader.
struct Interrupted {};

constexpr auto kInterruptPoll = std::chrono::milliseconds(20);

}  // namespace

LoaderConfig LoaderConfig::eval(int64_t batch_size, int workers) {
    LoaderConfig c;
    c.batch_size = batch_size;
    c.train = false;
    c.shuffle = false;
    c.drop_last = false;
    c.workers = workers;
    c.aug = AugmentConfig::none();
    return c;
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle, int repeats,
                                 int replicas) {
    std::vector<int64_t> perm(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), int64_t(0));
    if (shuffle) {
        SampleRng rng(seed, RngStream::Order, uint64_t(epoch), 0);
        for (int64_t i = n - 1; i > 0; --i)
            std::swap(perm[size_t(i)], perm[size_t(rng.randint(0, i))]);
    }
    if (repeats <= 1) return perm;
    replicas = std::max(1, replicas);
    int64_t num_samples = (n * repeats + replicas - 1) / replicas, total = num_samples * replicas;
    std::vector<int64_t> rep;
    rep.reserve(size_t(total));
    for (int64_t v : perm)
        for (int r = 0; r < repeats; ++r) rep.push_back(v);
    for (int64_t i = 0; int64_t(rep.size()) < total; ++i) rep.push_back(rep[size_t(i)]);
    int64_t keep = n >= 256 ? (n / 256 * 256) / replicas : n / replicas;
    std::vector<int64_t> out;
    for (int64_t i = 0; i < total && int64_t(out.size()) < keep; i += replicas)
        out.push_back(rep[size_t(i)]);
    return out;
}

Tensor eval_images(const Dataset& ds, int64_t count, const NormStats& stats) {
    if (count < 1 || count > ds.size())
        fail("eval_images", "count must lie in [1, {}] (the images of {}), got {}", ds.size(),
             ds.name(), count);
    const ImageShape s = ds.image_shape();
    Tensor images = Tensor::empty({count, s.c, s.h, s.w});
    for (int64_t i = 0; i < count; ++i)
        augment_eval(ds.get(i).image, stats, images.data<float>() + i * s.numel());
    return images;
}

Loader::Loader(std::shared_ptr<const Dataset> dataset, LoaderConfig cfg)
    : ds_(std::move(dataset)), cfg_(cfg) {
    if (!ds_) fail("Loader", "no dataset");
    if (cfg_.batch_size <= 0)
        fail("Loader", "batch_size must be positive, got {}", cfg_.batch_size);
    if (!cfg_.train) cfg_.aug = AugmentConfig::none();
    stats_ = select_stats(cfg_.aug, ds_->stats());
    bool repeat = cfg_.train && cfg_.aug.repeats > 1;
    samples_ = int64_t(epoch_order(ds_->size(), cfg_.seed, 0, false, repeat ? cfg_.aug.repeats : 1,
                                   cfg_.aug.repeat_replicas)
                           .size());
}

Loader::~Loader() { stop_workers(); }

int64_t Loader::batches_per_epoch() const {
    return cfg_.drop_last ? samples_ / cfg_.batch_size
                          : (samples_ + cfg_.batch_size - 1) / cfg_.batch_size;
}

LoaderState Loader::state() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {cfg_.seed, epoch_, next_out_};
}

void Loader::stop_workers() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
}

void Loader::seek(const LoaderState& s) {
    if (s.epoch < 0 || s.batch < 0 || s.batch > batches_per_epoch())
        fail("Loader", "cannot seek to batch {} of epoch {}: an epoch has batches [0, {})", s.batch,
             s.epoch, batches_per_epoch());
    stop_workers();
    cfg_.seed = s.seed;
    bool shuffle = cfg_.train && cfg_.shuffle;
    int repeats = cfg_.train ? cfg_.aug.repeats : 1;
    auto order = std::make_shared<const std::vector<int64_t>>(
        epoch_order(ds_->size(), cfg_.seed, s.epoch, shuffle, repeats, cfg_.aug.repeat_replicas));
    {
        std::lock_guard<std::mutex> lock(mu_);
        order_ = std::move(order);
        epoch_ = s.epoch;
        end_ = batches_per_epoch();
        next_claim_ = next_out_ = s.batch;
        ready_.clear();
        error_ = nullptr;
        stop_ = false;
        started_ = true;
    }
    for (int w = 0; w < cfg_.workers; ++w) threads_.emplace_back([this] { worker_loop(); });
}

void Loader::worker_loop() {
    for (;;) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] {
            return stop_ || next_claim_ >= end_ || next_claim_ < next_out_ + cfg_.prefetch;
        });
        if (stop_ || next_claim_ >= end_) return;
        int64_t b = next_claim_++, epoch = epoch_;
        auto order = order_;
        lock.unlock();
        Raw raw;
        std::exception_ptr err;
        try {
            raw = build(*order, epoch, b);
        } catch (const Interrupted&) {
            return;  // next() sees the same hook and stops waiting
        } catch (...) {
            err = std::current_exception();
        }
        lock.lock();
        if (err && !error_) error_ = err;
        ready_.emplace(b, std::move(raw));
        lock.unlock();
        cv_.notify_all();
    }
}

bool Loader::next(Batch& out) {
    if (!started_) seek({cfg_.seed, epoch_, next_out_});
    std::unique_lock<std::mutex> lock(mu_);
    if (next_out_ >= end_) return false;
    int64_t b = next_out_, epoch = epoch_;
    Raw raw;
    if (cfg_.workers <= 0) {
        auto order = order_;
        lock.unlock();
        try {
            raw = build(*order, epoch, b);
        } catch (const Interrupted&) {
            return false;
        }
        lock.lock();
    } else {
        auto ready = [&] { return error_ || ready_.count(b); };
        if (cfg_.interrupted) {
            while (!cv_.wait_for(lock, kInterruptPoll, ready))
                if (cfg_.interrupted()) return false;
        } else {
            cv_.wait(lock, ready);
        }
        if (error_) std::rethrow_exception(error_);
        raw = std::move(ready_[b]);
        ready_.erase(b);
    }
    ++next_out_;
    lock.unlock();
    cv_.notify_all();
    out = to_batch(std::move(raw), epoch, b);
    return true;
}

Batch Loader::make_batch(int64_t epoch, int64_t index) const {
    bool shuffle = cfg_.train && cfg_.shuffle;
    int repeats = cfg_.train ? cfg_.aug.repeats : 1;
    auto order =
        epoch_order(ds_->size(), cfg_.seed, epoch, shuffle, repeats, cfg_.aug.repeat_replicas);
    try {
        return to_batch(build(order, epoch, index), epoch, index);
    } catch (const Interrupted&) {
        fail("Loader", "interrupted while building batch {} of epoch {}", index, epoch);
    }
}

Loader::Raw Loader::build(const std::vector<int64_t>& order, int64_t epoch, int64_t index) const {
    const ImageShape s = ds_->image_shape();
    const int64_t first = index * cfg_.batch_size;
    const int64_t b = std::min<int64_t>(cfg_.batch_size, int64_t(order.size()) - first);
    if (index < 0 || b <= 0)
        fail("Loader", "batch {} is past the end of epoch {} ({} samples)", index, epoch,
             order.size());
    const int64_t n = s.numel();
    Raw raw;
    raw.images.resize(size_t(b * n));
    raw.labels.resize(size_t(b));
    raw.indices.resize(size_t(b));
    ImageU8 img(s);
    for (int64_t i = 0; i < b; ++i) {
        if (cfg_.interrupted && cfg_.interrupted()) throw Interrupted{};
        int64_t pos = first + i, idx = order[size_t(pos)];
        raw.indices[size_t(i)] = idx;
        raw.labels[size_t(i)] = ds_->label(idx);
        ds_->read_image(idx, img.data.data());
        float* dst = raw.images.data() + i * n;
        if (cfg_.train) {
            // Keyed by the position in the epoch, so RASampler's repeats get different
            // augmentations.
            SampleRng rng(cfg_.seed, RngStream::Sample, uint64_t(epoch), uint64_t(pos));
            augment_train(img, cfg_.aug, stats_, rng, dst);
        } else {
            augment_eval(img, stats_, dst);
        }
    }
    if (cfg_.train && cfg_.aug.soft_targets()) {
        SampleRng rng(cfg_.seed, RngStream::Mix, uint64_t(epoch), uint64_t(index));
        MixParams mp = draw_mix(cfg_.aug, epoch, s.h, s.w, rng);
        apply_mix(raw.images.data(), b, s, mp);
        int k = ds_->num_classes();
        raw.targets.resize(size_t(b * k));
        mix_targets(raw.labels.data(), b, k, mp.lam, cfg_.aug.label_smoothing, raw.targets.data());
        raw.lam = mp.lam;
        raw.cutmix = mp.cutmix;
    }
    return raw;
}

Batch Loader::to_batch(Raw&& raw, int64_t epoch, int64_t index) const {
    const ImageShape s = ds_->image_shape();
    int64_t b = int64_t(raw.labels.size());
    Batch out;
    out.images = Tensor::empty({b, s.c, s.h, s.w}, DType::F32);
    std::memcpy(out.images.data<float>(), raw.images.data(), raw.images.size() * sizeof(float));
    out.labels = Tensor::empty({b}, DType::I64);
    std::memcpy(out.labels.data<int64_t>(), raw.labels.data(), raw.labels.size() * sizeof(int64_t));
    if (!raw.targets.empty()) {
        out.targets = Tensor::empty({b, int64_t(ds_->num_classes())}, DType::F32);
        std::memcpy(out.targets.data<float>(), raw.targets.data(),
                    raw.targets.size() * sizeof(float));
    }
    out.epoch = epoch;
    out.index = index;
    out.lam = raw.lam;
    out.cutmix = raw.cutmix;
    out.indices = std::move(raw.indices);
    return out;
}

}  // namespace vg
