// CUDA caching allocator: freed blocks go to exact-size-class free lists and are handed out again
// without cudaMalloc. One stream per device means a freed block may be reused at once: every later
// use is queued behind the kernels that used it before. On out-of-memory the cache is emptied and
// cudaMalloc retried once before giving up.
#include "cuda/caching_allocator.h"

#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda/runtime.h"

namespace vg::cuda {

namespace {

constexpr size_t kSmallGranularity = 512;
constexpr size_t kLargeBlock = size_t(1) << 20;
constexpr size_t kLargeGranularity = size_t(2) << 20;

std::string bytes_str(int64_t n) {
    double b = double(n);
    if (b >= double(1ull << 30)) return fmt::format("{:.2f} GiB", b / double(1ull << 30));
    if (b >= double(1ull << 20)) return fmt::format("{:.2f} MiB", b / double(1ull << 20));
    return fmt::format("{} B", n);
}

class CudaCachingAllocator final : public Allocator {
  public:
    explicit CudaCachingAllocator(int device) : device_(device) {}

    void* allocate(size_t nbytes) override {
        size_t size = cuda_size_class(nbytes);
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.requests;
        void* p = nullptr;
        auto it = free_.find(size);
        if (it != free_.end() && !it->second.empty()) {
            p = it->second.back();
            it->second.pop_back();
        } else {
            p = fresh(nbytes, size);
        }
        stats_.bytes_in_use += int64_t(size);
        if (stats_.bytes_in_use > stats_.peak_bytes_in_use)
            stats_.peak_bytes_in_use = stats_.bytes_in_use;
        return p;
    }

    void deallocate(void* ptr, size_t nbytes) override {
        if (!ptr) return;
        size_t size = cuda_size_class(nbytes);
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
        release_cached();
    }

  private:
    // cudaMalloc, retried once after returning the cache to the driver. Called with mu_ held.
    void* fresh(size_t requested, size_t size) {
        (void)stream(device_);  // makes the device current
        void* p = nullptr;
        cudaError_t err = cudaMalloc(&p, size);
        if (err == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();
            release_cached();
            err = cudaMalloc(&p, size);
        }
        if (err == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();
            fail("cuda_allocator",
                 "out of memory on cuda:{}: tried to allocate {} ({} bytes requested); {} in use, "
                 "{} reserved (the cache was emptied and the allocation retried)",
                 device_, bytes_str(int64_t(size)), requested, bytes_str(stats_.bytes_in_use),
                 bytes_str(stats_.bytes_reserved));
        }
        if (err != cudaSuccess) throw_cuda_error(err, "cuda_allocator", "cudaMalloc");
        ++stats_.fresh_allocations;
        stats_.bytes_reserved += int64_t(size);
        return p;
    }

    // cudaFree waits for the device, so no queued kernel can still be using a released block.
    void release_cached() {
        for (auto& [size, blocks] : free_) {
            for (void* p : blocks) VG_CUDA_CHECK(cudaFree(p), "cuda_allocator");
            stats_.bytes_reserved -= int64_t(size * blocks.size());
        }
        free_.clear();
    }

    int device_;
    mutable std::mutex mu_;
    std::unordered_map<size_t, std::vector<void*>> free_;
    AllocatorStats stats_;
};

}  // namespace

size_t cuda_size_class(size_t nbytes) {
    if (nbytes == 0) nbytes = 1;
    size_t g = nbytes >= kLargeBlock ? kLargeGranularity : kSmallGranularity;
    return (nbytes + g - 1) / g * g;
}

Allocator& caching_allocator(int device) {
    static std::mutex mu;
    // Leaked on purpose: tensors in static storage may be freed after the CUDA runtime shut down.
    static auto* allocators = new std::vector<std::unique_ptr<CudaCachingAllocator>>();
    int n = device_count();
    if (n == 0)
        fail("cuda_allocator", "cuda:{} requested, but no CUDA device is available", device);
    if (device < 0 || device >= n)
        fail("cuda_allocator", "cuda:{} requested, but only {} CUDA device(s) are present", device,
             n);
    std::lock_guard<std::mutex> lock(mu);
    if (allocators->empty()) allocators->resize(size_t(n));
    auto& a = (*allocators)[size_t(device)];
    if (!a) a = std::make_unique<CudaCachingAllocator>(device);
    return *a;
}

}  // namespace vg::cuda
