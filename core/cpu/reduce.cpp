// CPU reductions over the middle axis of a contiguous [O, R, I] view: I == 1 is a row reduction
// (last dims), O == 1 a column reduction (leading dims, e.g. bias gradients), without transposes.
#include "core/kernels.h"
#include "core/cpu/loops.h"

namespace vg::cpu {

void sum_mid(const Tensor& x, int64_t O, int64_t R, int64_t I, Tensor& y) {
    dispatch_float(x.dtype(), "sum", [&]<typename T>() {
        const T* xs = x.data<T>();
        T* ys = y.data<T>();
        if (I == 1) {
            parallel_for(O, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R, 1)),
                         [&](int64_t b, int64_t e) {
                             for (int64_t o = b; o < e; ++o) {
                                 const T* row = xs + o * R;
                                 T acc = 0;
                                 for (int64_t r = 0; r < R; ++r) acc += row[r];
                                 ys[o] = acc;
                             }
                         });
            return;
        }
        // Accumulate whole rows of I so the inner loop is contiguous; split work over O and I.
        int64_t cols = O * I;
        parallel_for(cols, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R, 1)),
                     [&](int64_t b, int64_t e) {
                         for (int64_t c = b; c < e;) {
                             int64_t o = c / I, i0 = c % I, i1 = std::min(I, i0 + (e - c));
                             T* out = ys + o * I;
                             for (int64_t i = i0; i < i1; ++i) out[i] = 0;
                             for (int64_t r = 0; r < R; ++r) {
                                 const T* row = xs + (o * R + r) * I;
                                 for (int64_t i = i0; i < i1; ++i) out[i] += row[i];
                             }
                             c += i1 - i0;
                         }
                     });
    });
}

void max_mid(const Tensor& x, int64_t O, int64_t R, int64_t I, Tensor& values, Tensor& indices) {
    dispatch_float(x.dtype(), "max", [&]<typename T>() {
        const T* xs = x.data<T>();
        T* vs = values.data<T>();
        int64_t* is = indices.data<int64_t>();
        parallel_for(O * I, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R, 1)),
                     [&](int64_t b, int64_t e) {
                         for (int64_t c = b; c < e; ++c) {
                             int64_t o = c / I, i = c % I;
                             const T* p = xs + o * R * I + i;
                             T best = p[0];
                             int64_t arg = 0;
                             for (int64_t r = 1; r < R; ++r) {
                                 T v = p[r * I];
                                 // NaN propagates, as in torch.max.
                                 if (v > best || (v != v && best == best)) {
                                     best = v;
                                     arg = r;
                                 }
                             }
                             vs[c] = best;
                             is[c] = arg;
                         }
                     });
    });
}

}  // namespace vg::cpu
