// The CUDA allocator of each device: the caching pool of core/caching_pool.h over cudaMalloc /
// cudaFree. One stream per device means a freed block may be reused at once: every later use is
// queued behind the kernels that used it before. The pool empties its cache and retries once when
// cudaMalloc reports out-of-memory.
#include "cuda/caching_allocator.h"

#include <memory>
#include <mutex>
#include <vector>

#include "core/caching_pool.h"
#include "cuda/runtime.h"

namespace vg::cuda {

namespace {

constexpr size_t kSmallGranularity = 512;
constexpr size_t kLargeBlock = size_t(1) << 20;
constexpr size_t kLargeGranularity = size_t(2) << 20;

class DeviceMemory final : public SystemMemory {
  public:
    explicit DeviceMemory(int device) : device_(device) {}
    size_t size_class(size_t nbytes) const override { return cuda_size_class(nbytes); }
    void* allocate(size_t size) override {
        (void)stream(device_);  // makes the device current
        void* p = nullptr;
        cudaError_t err = cudaMalloc(&p, size);
        if (err == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();  // clears the error, so the retry and later calls start clean
            return nullptr;
        }
        if (err != cudaSuccess) throw_cuda_error(err, "cuda_allocator", "cudaMalloc");
        return p;
    }
    // cudaFree waits for the device, so no queued kernel can still be using a released block.
    void release(void* p, size_t) override { VG_CUDA_CHECK(cudaFree(p), "cuda_allocator"); }

  private:
    int device_;
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
    static auto* allocators = new std::vector<std::unique_ptr<CachingPool>>();
    int n = device_count();
    if (n == 0)
        fail("cuda_allocator", "cuda:{} requested, but no CUDA device is available", device);
    if (device < 0 || device >= n)
        fail("cuda_allocator", "cuda:{} requested, but only {} CUDA device(s) are present", device,
             n);
    std::lock_guard<std::mutex> lock(mu);
    if (allocators->empty()) allocators->resize(size_t(n));
    auto& a = (*allocators)[size_t(device)];
    if (!a)
        a = std::make_unique<CachingPool>(std::make_unique<DeviceMemory>(device), "cuda_allocator",
                                          fmt::format("cuda:{}", device));
    return *a;
}

}  // namespace vg::cuda
