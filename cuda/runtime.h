// CUDA runtime glue: device discovery, one stream and one cuBLAS handle per device (created on
// first use), error checking that names the op, and the TF32 / synchronous-debug switches.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/device.h"
#include "core/error.h"

namespace vg::cuda {

// True when at least one CUDA device can be used. Never throws: a missing driver, no device or
// any other cudaGetDeviceCount failure is simply "not available".
bool available();
int device_count();  // 0 when not available

// Makes `device` current on this thread and returns its stream (created on first use). Every
// kernel, copy and cuBLAS call for that device goes to this one stream, so work is ordered and a
// freed block can be reused at once.
cudaStream_t stream(int device);
inline cudaStream_t stream(Device d) { return stream(d.index); }
// The cuBLAS handle of `device`, bound to stream(device). Makes `device` current.
cublasHandle_t cublas(int device);
// Waits for all work queued on device's stream; a failure names `op`. Every wait of the host for
// a device goes through here (except the per-launch waits of sync-debug mode).
void synchronize(int device, const char* op = "synchronize");
// How many times the host has waited for a device (calls of synchronize) since the process
// started: tests use it to check that a step reads back from the device only where it must.
uint64_t host_waits();

// Synchronise after every launch so an asynchronous device-side fault is reported by the op that
// caused it (also enabled by the environment variable VG_CUDA_SYNC=1). Slow; for debugging.
void set_sync_debug(bool on);
bool sync_debug();
// Allow TF32 tensor cores in float32 matmuls (faster, ~10-bit mantissa). Off by default so CPU
// and CUDA results agree to float32 rounding.
void set_allow_tf32(bool on);
bool allow_tf32();

// Throws vg::Error "<op>: CUDA error in <what>: <cudaGetErrorString> (<code name>)".
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* op, const char* what);
[[noreturn]] void throw_cublas_error(cublasStatus_t st, const char* op, const char* what);
// After a kernel launch: reports a launch failure (and, in sync-debug mode, a device-side fault)
// as a vg::Error naming the op and the kernel.
void check_launch(const char* op, const char* kernel, int device);

}  // namespace vg::cuda

// VG_CUDA_CHECK(cudaMemcpyAsync(...), "copy"): throws a vg::Error naming the op, the call and
// cudaGetErrorString when the call does not return cudaSuccess.
#define VG_CUDA_CHECK(expr, op)                                                                 \
    do {                                                                                        \
        cudaError_t vg_cuda_err_ = (expr);                                                      \
        if (vg_cuda_err_ != cudaSuccess) ::vg::cuda::throw_cuda_error(vg_cuda_err_, op, #expr); \
    } while (0)

#define VG_CUBLAS_CHECK(expr, op)                                     \
    do {                                                              \
        cublasStatus_t vg_cublas_st_ = (expr);                        \
        if (vg_cublas_st_ != CUBLAS_STATUS_SUCCESS)                   \
            ::vg::cuda::throw_cublas_error(vg_cublas_st_, op, #expr); \
    } while (0)
