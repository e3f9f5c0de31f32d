// Allocator interface, its statistics, and the CPU caching allocator behind allocator_for(cpu).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/device.h"

namespace vg {

struct AllocatorStats {
    int64_t requests = 0;           // allocate() calls
    int64_t fresh_allocations = 0;  // requests the cache could not serve (system/cudaMalloc calls)
    int64_t bytes_in_use = 0;       // handed out and not yet returned
    int64_t bytes_reserved = 0;     // in use + cached, i.e. held from the system
    int64_t peak_bytes_in_use = 0;
    int64_t bytes_cached() const { return bytes_reserved - bytes_in_use; }
};

class Allocator {
  public:
    virtual ~Allocator() = default;
    virtual void* allocate(size_t nbytes) = 0;
    virtual void deallocate(void* ptr, size_t nbytes) = 0;
    virtual AllocatorStats stats() const = 0;
    virtual void reset_peak() = 0;
    // Returns every cached (free) block to the system.
    virtual void empty_cache() = 0;
};

// The allocator that owns memory on `device` (CPU: caching allocator; CUDA:
// cuda/caching_allocator).
Allocator& allocator_for(Device device);
Allocator& cpu_allocator();

// Rounds a request to its cache size class: 64 B granularity below 1 MiB, 2 MiB multiples above
// (large blocks are 2 MiB aligned and advised as huge pages).
size_t cpu_size_class(size_t nbytes);

}  // namespace vg
