// Storage: a reference-counted byte buffer on one device, returned to its allocator on release.
#pragma once
#include <atomic>
#include <cstddef>
#include <memory>

#include "core/allocator.h"

namespace vg {

class Storage {
  public:
    Storage(size_t nbytes, Device device);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data() const { return data_; }
    size_t nbytes() const { return nbytes_; }
    Device device() const { return device_; }

    // Storages alive right now, process-wide (tests use it to prove graphs free saved tensors).
    static int64_t live_count() { return live_.load(); }

  private:
    void* data_ = nullptr;
    size_t nbytes_ = 0;
    Device device_;
    Allocator* allocator_ = nullptr;
    static inline std::atomic<int64_t> live_{0};
};

inline Storage::Storage(size_t nbytes, Device device)
    : nbytes_(nbytes), device_(device), allocator_(&allocator_for(device)) {
    data_ = allocator_->allocate(nbytes);
    ++live_;
}

inline Storage::~Storage() {
    allocator_->deallocate(data_, nbytes_);
    --live_;
}

}  // namespace vg
