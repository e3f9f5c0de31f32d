// CPU kernels of GPSA's gated mix (autograd/ops/attention.cpp): one pass over the attention rows
// forward and one backward, where the composite form took five elementwise passes each way.
#include <algorithm>

#include "core/cpu/gated_mix_row.h"
#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

// y[b,h,i,:] = (1 - g_h) c[b,h,i,:] + g_h p[h,i,:], then divided by its sum s[b,h,i] when
// `normalize` (s stays undefined otherwise).
void gated_mix_fwd(const Tensor& c, const Tensor& p, const Tensor& g, bool normalize, int64_t B,
                   int64_t H, int64_t N, int64_t M, Tensor& y, Tensor& s) {
    dispatch_float(c.dtype(), "gated_mix", [&]<typename T>() {
        const T* cs = c.data<T>();
        const T* ps = p.data<T>();
        const T* gs = g.data<T>();
        T* ys = y.data<T>();
        T* ss = normalize ? s.data<T>() : nullptr;
        parallel_for(B * H * N, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(M, 1)),
                     [&](int64_t lo, int64_t hi) {
                         for (int64_t r = lo; r < hi; ++r) {
                             int64_t hr = r % (H * N);  // the (h, i) row of p
                             const T gate = gs[hr / N];
                             const T sum = gated_mix_row_fwd(cs + r * M, ps + hr * M, gate,
                                                             normalize, ys + r * M, M);
                             if (normalize) ss[r] = sum;
                         }
                     });
    });
}

// With da = normalize ? (dy - <dy, y>) / s : dy per row:
//   dc = (1 - g_h) da,   dp[h,i,:] = g_h sum_b da[b,h,i,:],
//   dg_rows[h,i] = sum_b <da[b,h,i,:], p[h,i,:] - c[b,h,i,:]>   (summed over i by the caller).
// Threads split the (h, i) rows and loop over the batch inside, so dp needs no reduction step.
void gated_mix_bwd(const Tensor& c, const Tensor& p, const Tensor& g, const Tensor& y,
                   const Tensor& s, const Tensor& dy, bool normalize, int64_t B, int64_t H,
                   int64_t N, int64_t M, Tensor& dc, Tensor& dp, Tensor& dg_rows) {
    dispatch_float(c.dtype(), "gated_mix", [&]<typename T>() {
        const T* cs = c.data<T>();
        const T* ps = p.data<T>();
        const T* gs = g.data<T>();
        const T* ys = normalize ? y.data<T>() : nullptr;
        const T* ss = normalize ? s.data<T>() : nullptr;
        const T* dys = dy.data<T>();
        T* dcs = dc.data<T>();
        T* dps = dp.data<T>();
        T* dgs = dg_rows.data<T>();
        parallel_for(H * N, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(B * M, 1)),
                     [&](int64_t lo, int64_t hi) {
                         for (int64_t hr = lo; hr < hi; ++hr) {
                             const T gate = gs[hr / N];
                             const T* pr = ps + hr * M;
                             T* dpr = dps + hr * M;
                             for (int64_t j = 0; j < M; ++j) dpr[j] = 0;
                             T dgate = 0;
                             for (int64_t b = 0; b < B; ++b) {
                                 int64_t r = b * H * N + hr;
                                 gated_mix_row_bwd(cs + r * M, pr, gate, normalize,
                                                   normalize ? ys + r * M : nullptr,
                                                   normalize ? ss[r] : T(1), dys + r * M,
                                                   dcs + r * M, dpr, dgate, M);
                             }
                             dgs[hr] = dgate;
                         }
                     });
    });
}

}  // namespace vg::cpu
