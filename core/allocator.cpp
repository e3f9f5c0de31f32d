// The CPU allocator: the caching pool (core/caching_pool.h) over aligned_alloc. On the target
// machine a first touch of a fresh 4 KiB page costs ~10 us and glibc returns large buffers to the
// OS, so without the cache every training step re-faults its activations.
#include "core/allocator.h"

#include <sys/mman.h>

#include <cstdlib>

#include "core/caching_pool.h"

#if VG_WITH_CUDA
#include "cuda/caching_allocator.h"
#endif

namespace vg {

namespace {

constexpr size_t kLargeBlock = size_t(1) << 20;  // from here on: huge-page blocks
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kSmallAlign = 64;  // AVX-512 loads

struct CpuMemory final : SystemMemory {
    size_t size_class(size_t nbytes) const override { return cpu_size_class(nbytes); }
    void* allocate(size_t size) override {
        size_t align = size >= kLargeBlock ? kHugePage : kSmallAlign;
        void* p = std::aligned_alloc(align, size);
        if (p && size >= kLargeBlock) madvise(p, size, MADV_HUGEPAGE);
        return p;
    }
    void release(void* p, size_t) override { std::free(p); }
};

}  // namespace

size_t cpu_size_class(size_t nbytes) {
    if (nbytes == 0) nbytes = 1;
    size_t g = nbytes >= kLargeBlock ? kHugePage : kSmallAlign;
    return (nbytes + g - 1) / g * g;
}

Allocator& cpu_allocator() {
    // Leaked on purpose: tensors in static storage may be freed after main() returns.
    static auto* a = new CachingPool(std::make_unique<CpuMemory>(), "cpu_allocator", "cpu");
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
