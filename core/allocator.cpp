// CPU caching allocator: freed blocks are kept in exact-size free lists and never handed back
// between training steps. On the target machine a first touch of a fresh 4 KiB page costs ~10 us
// and glibc returns large buffers to the OS, so without this every step re-faults its activations.
#include "core/allocator.h"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#if VG_WITH_CUDA
#include "cuda/caching_allocator.h"
#endif

namespace vg {

namespace {

constexpr size_t kLargeBlock = size_t(1) << 20;  // from here on: huge-page blocks
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kSmallAlign = 64;  // AVX-512 loads

class CpuCachingAllocator final : public Allocator {
  public:
    ~CpuCachingAllocator() override { empty_cache(); }

    void* allocate(size_t nbytes) override {
        size_t size = cpu_size_class(nbytes);
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.requests;
        void* p = nullptr;
        auto it = free_.find(size);
        if (it != free_.end() && !it->second.empty()) {
            p = it->second.back();
            it->second.pop_back();
        } else {
            p = system_alloc(size);
            ++stats_.fresh_allocations;
            stats_.bytes_reserved += int64_t(size);
        }
        stats_.bytes_in_use += int64_t(size);
        if (stats_.bytes_in_use > stats_.peak_bytes_in_use)
            stats_.peak_bytes_in_use = stats_.bytes_in_use;
        return p;
    }

    void deallocate(void* ptr, size_t nbytes) override {
        if (!ptr) return;
        size_t size = cpu_size_class(nbytes);
        std::lock_guard<std::mutex> lock(mu_);
        stats_.bytes_in_use -= int64_t(size);
        free_[size].push_back(ptr);
    }

    AllocatorStats stats() const override {
        std::lock_guard<std::mutex> lock(mu_);
        return stats_;
    }
    void reset_peak() override {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.peak_bytes_in_use = stats_.bytes_in_use;
    }

    void empty_cache() override {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& [size, blocks] : free_) {
            for (void* p : blocks) std::free(p);
            stats_.bytes_reserved -= int64_t(size * blocks.size());
        }
        free_.clear();
    }

  private:
    static void* system_alloc(size_t size) {
        size_t align = size >= kLargeBlock ? kHugePage : kSmallAlign;
        void* p = std::aligned_alloc(align, size);
        if (!p) fail("cpu_allocator", "out of memory allocating {} bytes", size);
        if (size >= kLargeBlock) madvise(p, size, MADV_HUGEPAGE);
        return p;
    }

    mutable std::mutex mu_;
    std::unordered_map<size_t, std::vector<void*>> free_;
    AllocatorStats stats_;
};

}  // namespace

size_t cpu_size_class(size_t nbytes) {
    if (nbytes == 0) nbytes = 1;
    size_t g = nbytes >= kLargeBlock ? kHugePage : kSmallAlign;
    return (nbytes + g - 1) / g * g;
}

Allocator& cpu_allocator() {
    // Leaked on purpose: tensors in static storage may be freed after main() returns.
    static auto* a = new CpuCachingAllocator();
    return *a;
}

Allocator& allocator_for(Device device) {
    if (device.is_cpu()) return cpu_allocator();
#if VG_WITH_CUDA
    return cuda::caching_allocator(device.index);
#else
    fail("allocator_for", "device {} requested, but vitgrad was built without CUDA", device);
#endif
}

}  // namespace vg
