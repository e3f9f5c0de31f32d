// The CPU reduction loop, one for every functor of VG_REDUCTIONS (core/reductions.h): x is a
// contiguous [O, R, I] view reduced over R. I == 1 is a row reduction (last dims, or the whole
// tensor), O == 1 a column reduction (leading dims, e.g. bias gradients), without transposes.
// The folding order depends on the shape alone, so results do not change with the thread count.
#include "core/cpu/fold.h"
#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

namespace {

template <typename F, typename T>
using AccOf = typename F::template Acc<T>;

// Writes output c (= o * I + i) from its accumulator.
template <typename F, typename T>
void write(AccOf<F, T> a, int64_t R, int64_t c, T* y, int64_t* index) {
    y[c] = F::finalize(a, R);
    if constexpr (F::grad == ReduceGrad::Select) index[c] = a.index;
}

// I == 1: every output folds one contiguous row of R inputs, in chunks of a length set by R
// (fold_row), so a long row can be split over the threads without changing the result.
template <typename F, typename T>
void reduce_rows(const T* x, int64_t O, int64_t R, T* y, int64_t* index) {
    using A = AccOf<F, T>;
    int64_t chunk = fold_chunk(R), chunks = ceil_div(R, chunk);
    if (chunks == 1 || O >= omp_get_max_threads()) {
        parallel_for(O, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R, 1)),
                     [&](int64_t b, int64_t e) {
                         for (int64_t o = b; o < e; ++o)
                             write<F>(fold_row<F>(x + o * R, R), R, o, y, index);
                     });
        return;
    }
    // Few long rows (a whole tensor): the chunks of each row in parallel, then in order.
    A partial[kMaxFoldChunks];
    for (int64_t o = 0; o < O; ++o) {
        const T* row = x + o * R;
        parallel_for(
            chunks, std::max<int64_t>(1, kParallelGrain / chunk), [&](int64_t b, int64_t e) {
                for (int64_t c = b; c < e; ++c)
                    partial[c] =
                        fold<F>(row + c * chunk, std::min(chunk, R - c * chunk), c * chunk);
            });
        A acc = F::template init<T>();
        for (int64_t c = 0; c < chunks; ++c) acc = F::combine(acc, partial[c]);
        write<F>(acc, R, o, y, index);
    }
}

// I > 1: the outputs of a run of columns fold whole rows of I, so the inner loop is contiguous;
// threads split the O * I columns (each column still folds its R inputs in order).
template <typename F, typename T>
void reduce_columns(const T* x, int64_t O, int64_t R, int64_t I, T* y, int64_t* index) {
    using A = AccOf<F, T>;
    constexpr int64_t kBlock = 256;  // columns folded together: their accumulators stay in L1
    parallel_for(O * I, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R, 1)),
                 [&](int64_t b, int64_t e) {
                     A acc[kBlock];
                     for (int64_t c = b; c < e;) {
                         int64_t o = c / I, i0 = c % I;
                         int64_t n = std::min({I - i0, e - c, kBlock});
                         for (int64_t k = 0; k < n; ++k) acc[k] = F::template init<T>();
                         for (int64_t r = 0; r < R; ++r) {
                             const T* row = x + (o * R + r) * I + i0;
#pragma omp simd
                             for (int64_t k = 0; k < n; ++k) acc[k] = F::step(acc[k], row[k], r);
                         }
                         for (int64_t k = 0; k < n; ++k) write<F>(acc[k], R, c + k, y, index);
                         c += n;
                     }
                 });
}

}  // namespace

void reduce_fwd(ReduceOp op, const Tensor& x, int64_t O, int64_t R, int64_t I, Tensor& y,
                Tensor& index) {
    dispatch_float(x.dtype(), op_name(op).data(), [&]<typename T>() {
        visit_reduction(op, [&]<typename F>() {
            const T* xs = x.data<T>();
            T* ys = y.data<T>();
            int64_t* is = index.defined() ? index.data<int64_t>() : nullptr;
            if (I == 1)
                reduce_rows<F>(xs, O, R, ys, is);
            else
                reduce_columns<F>(xs, O, R, I, ys, is);
        });
    });
}

void reduce_bwd(ReduceOp op, const Tensor& x, const Tensor& y, const Tensor& index,
                const Tensor& dy, int64_t O, int64_t R, int64_t I, Tensor& dx) {
    dispatch_float(dx.dtype(), op_name(op).data(), [&]<typename T>() {
        visit_reduction(op, [&]<typename F>() {
            const T* gs = dy.data<T>();
            T* ds = dx.data<T>();
            parallel_for(O * R, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(I, 1)),
                         [&](int64_t b, int64_t e) {
                             for (int64_t orow = b; orow < e; ++orow) {
                                 int64_t o = orow / R, r = orow % R;
                                 const T* g = gs + o * I;
                                 T* d = ds + orow * I;
                                 if constexpr (F::grad == ReduceGrad::Select) {
                                     const int64_t* sel = index.data<int64_t>() + o * I;
                                     for (int64_t i = 0; i < I; ++i)
                                         d[i] = sel[i] == r ? g[i] : T(0);
                                 } else {
                                     const T* xr = x.data<T>() + orow * I;
                                     const T* yo = y.data<T>() + o * I;
                                     for (int64_t i = 0; i < I; ++i)
                                         d[i] = g[i] * F::derivative(xr[i], yo[i], R);
                                 }
                             }
                         });
        });
    });
}

}  // namespace vg::cpu
