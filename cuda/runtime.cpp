// CUDA runtime glue: lazily created per-device streams and cuBLAS handles, error reporting, and
// the debug/TF32 switches.
#include "cuda/runtime.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace vg::cuda {

namespace {

int query_device_count() {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();  // clear it so later calls do not see a stale error
        return 0;
    }
    return n;
}

struct DeviceState {
    std::once_flag once;
    cudaStream_t stream = nullptr;
    cublasHandle_t blas = nullptr;
};

// Leaked on purpose: streams and handles must not be destroyed after the CUDA runtime has shut
// down at process exit.
std::vector<DeviceState>& states() {
    static auto* s = new std::vector<DeviceState>(size_t(device_count()));
    return *s;
}

bool env_sync_debug() {
    const char* v = std::getenv("VG_CUDA_SYNC");
    return v && std::strcmp(v, "0") != 0 && v[0] != '\0';
}

std::atomic<bool> g_sync_debug{env_sync_debug()};
std::atomic<uint64_t> g_host_waits{0};
std::atomic<bool> g_allow_tf32{false};

DeviceState& state(int device) {
    int n = device_count();
    if (n == 0) fail("cuda", "a CUDA device was requested, but none is available");
    if (device < 0 || device >= n)
        fail("cuda", "device cuda:{} requested, but only {} CUDA device(s) are present", device, n);
    DeviceState& s = states()[size_t(device)];
    std::call_once(s.once, [&] {
        VG_CUDA_CHECK(cudaSetDevice(device), "cuda");
        // Non-blocking: our stream never waits on work that other libraries put on stream 0.
        VG_CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "cuda");
        VG_CUBLAS_CHECK(cublasCreate(&s.blas), "cuda");
        VG_CUBLAS_CHECK(cublasSetStream(s.blas, s.stream), "cuda");
    });
    return s;
}

void set_current(int device) {
    thread_local int current = -1;
    if (current != device) {
        VG_CUDA_CHECK(cudaSetDevice(device), "cuda");
        current = device;
    }
}

}  // namespace

int device_count() {
    static const int n = query_device_count();
    return n;
}

bool available() { return device_count() > 0; }

cudaStream_t stream(int device) {
    DeviceState& s = state(device);
    set_current(device);
    return s.stream;
}

cublasHandle_t cublas(int device) {
    DeviceState& s = state(device);
    set_current(device);
    return s.blas;
}

void synchronize(int device, const char* op) {
    g_host_waits.fetch_add(1, std::memory_order_relaxed);
    VG_CUDA_CHECK(cudaStreamSynchronize(stream(device)), op);
}
uint64_t host_waits() { return g_host_waits.load(std::memory_order_relaxed); }

void set_sync_debug(bool on) { g_sync_debug = on; }
bool sync_debug() { return g_sync_debug; }
void set_allow_tf32(bool on) { g_allow_tf32 = on; }
bool allow_tf32() { return g_allow_tf32; }

void throw_cuda_error(cudaError_t err, const char* op, const char* what) {
    (void)cudaGetLastError();  // non-sticky errors must not resurface in the next check
    fail(op, "CUDA error in {}: {} ({})", what, cudaGetErrorString(err), cudaGetErrorName(err));
}

void throw_cublas_error(cublasStatus_t st, const char* op, const char* what) {
    fail(op, "cuBLAS error in {}: {} ({})", what, cublasGetStatusString(st), int(st));
}

void check_launch(const char* op, const char* kernel, int device) {
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) throw_cuda_error(err, op, kernel);
    if (g_sync_debug) {
        err = cudaStreamSynchronize(stream(device));
        if (err != cudaSuccess) throw_cuda_error(err, op, kernel);
    }
}

}  // namespace vg::cuda
