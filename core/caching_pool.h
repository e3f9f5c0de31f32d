// The caching pool behind every device's allocator: freed blocks go into exact-size-class free
// lists and are handed out again without asking the system, and an out-of-memory answer empties
// the cache and retries once. The device supplies only what differs: its size classes and its
// system allocate / release pair (core/allocator.cpp: aligned_alloc; cuda/caching_allocator.cpp:
// cudaMalloc), so the CPU tests of this class cover the logic the GPU runs.
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/allocator.h"

namespace vg {

// What a pool asks of its device.
class SystemMemory {
  public:
    virtual ~SystemMemory() = default;
    // The size class of a request: >= nbytes; requests of one class share a free list.
    virtual size_t size_class(size_t nbytes) const = 0;
    // `size` fresh bytes (size is a size class), or nullptr when the device is out of memory;
    // any other failure throws.
    virtual void* allocate(size_t size) = 0;
    // Returns a block from allocate(size) to the system.
    virtual void release(void* ptr, size_t size) = 0;
};

class CachingPool final : public Allocator {
  public:
    // `op` names the allocator in errors ("cpu_allocator"), `where` the device ("cpu", "cuda:0").
    CachingPool(std::unique_ptr<SystemMemory> system, std::string op, std::string where);
    // Returns the cached blocks; blocks still in use belong to their storages.
    ~CachingPool() override;
    CachingPool(const CachingPool&) = delete;
    CachingPool& operator=(const CachingPool&) = delete;

    void* allocate(size_t nbytes) override;
    void deallocate(void* ptr, size_t nbytes) override;
    AllocatorStats stats() const override;
    void reset_peak() override;
    void empty_cache() override;

  private:
    void release_cached();  // with mu_ held

    std::unique_ptr<SystemMemory> system_;
    std::string op_, where_;
    mutable std::mutex mu_;
    std::unordered_map<size_t, std::vector<void*>> free_;
    AllocatorStats stats_;
};

// "1.50 MiB": byte counts in error messages.
std::string format_bytes(int64_t n);

}  // namespace vg
