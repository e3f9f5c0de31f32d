// CUDA kernels of GPSA's gated mix: the formulas of core/cpu/gated_mix.cpp. Forward: one warp per
// (b, h, i) row. Backward: one warp per (h, i) row looping over the batch, so dp and the gate's
// row sums need no atomics and come out in the same order on every run.
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace vg::cuda {

namespace {

constexpr int kRowsPerBlock = 8;  // one warp each

template <typename T>
__global__ void gated_mix_fwd_kernel(const T* c, const T* p, const T* g, T* y, T* s, int64_t R,
                                     int64_t HN, int64_t N, int64_t M, bool normalize) {
    int64_t r = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
    int lane = threadIdx.x % kWarp;
    if (r >= R) return;  // whole warps leave together, so the shuffles below stay full
    int64_t hr = r % HN;
    const T gate = g[hr / N];
    const T* cr = c + r * M;
    const T* pr = p + hr * M;
    T* yr = y + r * M;
    T sum = 0;
    for (int64_t j = lane; j < M; j += kWarp) {
        T v = fn::GatedMix::forward(cr[j], pr[j], gate);
        yr[j] = v;
        sum += v;
    }
    if (!normalize) return;
    sum = warp_sum(sum);
    if (lane == 0) s[r] = sum;
    const T inv = T(1) / sum;
    for (int64_t j = lane; j < M; j += kWarp) yr[j] *= inv;
}

template <typename T>
__global__ void gated_mix_bwd_kernel(const T* c, const T* p, const T* g, const T* y, const T* s,
                                     const T* dy, T* dc, T* dp, T* dg_rows, int64_t B, int64_t HN,
                                     int64_t N, int64_t M, bool normalize) {
    int64_t hr = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
    int lane = threadIdx.x % kWarp;
    if (hr >= HN) return;
    const T gate = g[hr / N];
    const T* pr = p + hr * M;
    T* dpr = dp + hr * M;
    for (int64_t j = lane; j < M; j += kWarp) dpr[j] = 0;  // each lane owns its columns
    T dgate = 0;
    for (int64_t b = 0; b < B; ++b) {
        int64_t r = b * HN + hr;
        const T* cr = c + r * M;
        const T* gr = dy + r * M;
        T* dcr = dc + r * M;
        T dot = 0, inv = 1;
        if (normalize) {
            const T* yr = y + r * M;
            for (int64_t j = lane; j < M; j += kWarp) dot += gr[j] * yr[j];
            dot = warp_sum(dot);
            inv = T(1) / s[r];
        }
        for (int64_t j = lane; j < M; j += kWarp)
            fn::GatedMix::backward(gr[j], dot, inv, cr[j], pr[j], gate, dcr[j], dpr[j], dgate);
    }
    dgate = warp_sum(dgate);
    if (lane == 0) dg_rows[hr] = dgate;
}

unsigned row_blocks(int64_t R) {
    int64_t b = ceil_div(R, kRowsPerBlock);
    VG_CHECK(b < (int64_t(1) << 31), "gated_mix", "too many rows ({}) for one launch", R);
    return unsigned(b);
}

}  // namespace

void gated_mix_fwd(const Tensor& c, const Tensor& p, const Tensor& g, bool normalize, int64_t B,
                   int64_t H, int64_t N, int64_t M, Tensor& y, Tensor& s) {
    int64_t R = B * H * N;
    if (R == 0) return;  // M == 0 still runs: s holds the empty rows' sums (0), as on the CPU
    dispatch_float(c.dtype(), "gated_mix", [&]<typename T>() {
        launch("gated_mix", "gated_mix_fwd_kernel", gated_mix_fwd_kernel<T>, row_blocks(R),
               kRowsPerBlock * kWarp, 0, c.device().index, dev_ptr<T>(c), dev_ptr<T>(p),
               dev_ptr<T>(g), dev_ptr<T>(y), normalize ? dev_ptr<T>(s) : static_cast<T*>(nullptr),
               R, H * N, N, M, normalize);
    });
}

void gated_mix_bwd(const Tensor& c, const Tensor& p, const Tensor& g, const Tensor& y,
                   const Tensor& s, const Tensor& dy, bool normalize, int64_t B, int64_t H,
                   int64_t N, int64_t M, Tensor& dc, Tensor& dp, Tensor& dg_rows) {
    int64_t HN = H * N;
    if (HN == 0) return;
    dispatch_float(c.dtype(), "gated_mix", [&]<typename T>() {
        launch("gated_mix", "gated_mix_bwd_kernel", gated_mix_bwd_kernel<T>, row_blocks(HN),
               kRowsPerBlock * kWarp, 0, c.device().index, dev_ptr<T>(c), dev_ptr<T>(p),
               dev_ptr<T>(g), normalize ? dev_ptr<T>(y) : static_cast<const T*>(nullptr),
               normalize ? dev_ptr<T>(s) : static_cast<const T*>(nullptr), dev_ptr<T>(dy),
               dev_ptr<T>(dc), dev_ptr<T>(dp), dev_ptr<T>(dg_rows), B, HN, N, M, normalize);
    });
}

}  // namespace vg::cuda
