// VG_DISPATCH: the one branch that sends a kernel call to vg::cpu or vg::cuda by device.
#pragma once
#include "core/kernels.h"

#if VG_WITH_CUDA
#define VG_DISPATCH(device, fn, ...) \
    ((device).is_cuda() ? ::vg::cuda::fn(__VA_ARGS__) : ::vg::cpu::fn(__VA_ARGS__))
#else
namespace vg::detail {
[[noreturn]] inline void no_cuda(const char* kernel) {
    fail(kernel, "a CUDA tensor was given, but vitgrad was built without CUDA");
}
}  // namespace vg::detail
#define VG_DISPATCH(device, fn, ...) \
    ((device).is_cuda() ? ::vg::detail::no_cuda(#fn) : ::vg::cpu::fn(__VA_ARGS__))
#endif
