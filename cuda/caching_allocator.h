// The CUDA caching allocator: size-class free lists per device, so a training loop with fixed
// shapes stops calling cudaMalloc after its first steps.
#pragma once
#include <cstddef>

#include "core/allocator.h"

namespace vg::cuda {

// The allocator of cuda:<device> (created on first use; throws a vg::Error for a bad index or
// when no device is present).
Allocator& caching_allocator(int device);

// Rounds a request to its cache size class: 512 B granularity below 1 MiB, 2 MiB multiples above.
size_t cuda_size_class(size_t nbytes);

}  // namespace vg::cuda
