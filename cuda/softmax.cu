// CUDA softmax / log-softmax over the rows of the last dim: one warp per row, stable by
// subtracting the row max; the same formulas as core/cpu/softmax.cpp, fully masked rows included.
#include <limits>

#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace vg::cuda {

namespace {

constexpr int kRowsPerBlock = 8;  // one warp each

template <typename T>
__global__ void softmax_fwd_kernel(const T* x, T* y, int64_t R, int64_t C, bool log) {
    int64_t r = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
    int lane = threadIdx.x % kWarp;
    if (r >= R) return;  // whole warps leave together, so the shuffles below stay full
    const T* xr = x + r * C;
    T* yr = y + r * C;
    T mx = xr[0];
    for (int64_t c = lane; c < C; c += kWarp) mx = math::max(mx, xr[c]);
    mx = warp_max(mx);
    if (mx == -std::numeric_limits<T>::infinity()) {
        // All masked: zeros (log: -inf), not NaN. max() skips NaNs, so a row of NaNs and -infs
        // lands here too: it stays NaN, as on the CPU.
        bool nan = false;
        for (int64_t c = lane; c < C; c += kWarp) nan |= xr[c] != xr[c];
        nan = __any_sync(0xffffffffu, nan);
        for (int64_t c = lane; c < C; c += kWarp)
            yr[c] = nan ? std::numeric_limits<T>::quiet_NaN() : (log ? mx : T(0));
        return;
    }
    T sum = 0;
    for (int64_t c = lane; c < C; c += kWarp) sum += math::exp(xr[c] - mx);
    sum = warp_sum(sum);
    if (log) {
        // (x - max) - log(sum), not x - (max + log(sum)): the latter rounds the log-sum to the
        // magnitude of the logits.
        T lsum = math::log(sum);
        for (int64_t c = lane; c < C; c += kWarp) yr[c] = (xr[c] - mx) - lsum;
    } else {
        T inv = T(1) / sum;
        for (int64_t c = lane; c < C; c += kWarp) yr[c] = math::exp(xr[c] - mx) * inv;
    }
}

// softmax:     dx = y * (dy - sum(dy * y))
// log_softmax: dx = dy - exp(y) * sum(dy)
template <typename T>
__global__ void softmax_bwd_kernel(const T* y, const T* dy, T* dx, int64_t R, int64_t C, bool log) {
    int64_t r = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
    int lane = threadIdx.x % kWarp;
    if (r >= R) return;
    const T* yr = y + r * C;
    const T* gr = dy + r * C;
    T* dr = dx + r * C;
    T dot = 0;
    for (int64_t c = lane; c < C; c += kWarp) dot += log ? gr[c] : gr[c] * yr[c];
    dot = warp_sum(dot);
    for (int64_t c = lane; c < C; c += kWarp)
        dr[c] = log ? gr[c] - math::exp(yr[c]) * dot : yr[c] * (gr[c] - dot);
}

unsigned row_blocks(int64_t R, const char* op) {
    int64_t b = ceil_div(R, kRowsPerBlock);
    VG_CHECK(b < (int64_t(1) << 31), op, "too many rows ({}) for one launch", R);
    return unsigned(b);
}

}  // namespace

void softmax_fwd(const Tensor& x, Tensor& y, bool log) {
    int64_t C = x.dim() ? x.shape().back() : 1;
    int64_t R = C ? x.numel() / C : 0;
    if (R == 0) return;
    const char* op = log ? "log_softmax" : "softmax";
    dispatch_float(x.dtype(), op, [&]<typename T>() {
        launch(op, "softmax_fwd_kernel", softmax_fwd_kernel<T>, row_blocks(R, op),
               kRowsPerBlock * kWarp, 0, x.device().index, dev_ptr<T>(x), dev_ptr<T>(y), R, C, log);
    });
}

void softmax_bwd(const Tensor& y, const Tensor& dy, Tensor& dx, bool log) {
    int64_t C = y.dim() ? y.shape().back() : 1;
    int64_t R = C ? y.numel() / C : 0;
    if (R == 0) return;
    const char* op = log ? "log_softmax" : "softmax";
    dispatch_float(y.dtype(), op, [&]<typename T>() {
        launch(op, "softmax_bwd_kernel", softmax_bwd_kernel<T>, row_blocks(R, op),
               kRowsPerBlock * kWarp, 0, y.device().index, dev_ptr<T>(y), dev_ptr<T>(dy),
               dev_ptr<T>(dx), R, C, log);
    });
}

}  // namespace vg::cuda
