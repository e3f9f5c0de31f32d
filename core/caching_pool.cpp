// The size-class caching pool shared by the CPU and CUDA allocators.
#include "core/caching_pool.h"

#include "core/error.h"

namespace vg {

CachingPool::CachingPool(std::unique_ptr<SystemMemory> system, std::string op, std::string where)
    : system_(std::move(system)), op_(std::move(op)), where_(std::move(where)) {}

CachingPool::~CachingPool() { empty_cache(); }

void* CachingPool::allocate(size_t nbytes) {
    size_t size = system_->size_class(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.requests;
    void* p = nullptr;
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
    } else {
        p = system_->allocate(size);
        bool retried = false;
        if (!p && stats_.bytes_cached() > 0) {
            // Cached blocks of other size classes may be what stands in the way.
            release_cached();
            p = system_->allocate(size);
            retried = true;
        }
        if (!p)
            fail(op_.c_str(),
                 "out of memory on {}: tried to allocate {} ({} bytes requested); {} in use, {} "
                 "reserved ({})",
                 where_, format_bytes(int64_t(size)), nbytes, format_bytes(stats_.bytes_in_use),
                 format_bytes(stats_.bytes_reserved),
                 retried ? "the cache was emptied and the allocation retried" : "nothing cached");
        ++stats_.fresh_allocations;
        stats_.bytes_reserved += int64_t(size);
    }
    stats_.bytes_in_use += int64_t(size);
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use)
        stats_.peak_bytes_in_use = stats_.bytes_in_use;
    return p;
}

void CachingPool::deallocate(void* ptr, size_t nbytes) {
    if (!ptr) return;
    size_t size = system_->size_class(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.bytes_in_use -= int64_t(size);
    free_[size].push_back(ptr);
}

AllocatorStats CachingPool::stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
}

void CachingPool::reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

void CachingPool::empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached();
}

void CachingPool::release_cached() {
    for (auto& [size, blocks] : free_) {
        for (void* p : blocks) system_->release(p, size);
        stats_.bytes_reserved -= int64_t(size * blocks.size());
    }
    free_.clear();
}

std::string format_bytes(int64_t n) {
    double b = double(n);
    if (b >= double(1ull << 30)) return fmt::format("{:.2f} GiB", b / double(1ull << 30));
    if (b >= double(1ull << 20)) return fmt::format("{:.2f} MiB", b / double(1ull << 20));
    return fmt::format("{} B", n);
}

}  // namespace vg
