// CPU gather / scatter_add / index_select / index_add over contiguous [O, R, I] views, and the
// index range check the indexing ops run before any kernel reads memory.
#include <algorithm>
#include <cstring>

#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

namespace {

// The adjoint kernels add many source rows into one destination row. Each task owns a block of
// columns [i0, i1) of one outer slice o, so no two tasks ever write the same element.
constexpr int64_t kColumnBlock = 256;

template <typename F>
void for_each_column_block(int64_t O, int64_t I, int64_t work_per_col, F&& f) {
    int64_t block = std::min<int64_t>(std::max<int64_t>(I, 1), kColumnBlock);
    int64_t blocks_per_o = (I + block - 1) / block;
    int64_t tasks = O * blocks_per_o;
    int64_t grain =
        std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work_per_col * block, 1));
    parallel_for(tasks, grain, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
            int64_t o = t / blocks_per_o, i0 = (t % blocks_per_o) * block;
            f(o, i0, std::min(I, i0 + block));
        }
    });
}

// The forward kernels write each output row of I elements once: split the rows over the pool.
template <typename F>
void for_each_out_row(int64_t rows, int64_t I, F&& f) {
    parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(I, 1)),
                 [&](int64_t b, int64_t e) {
                     for (int64_t r = b; r < e; ++r) f(r);
                 });
}

}  // namespace

void gather(const Tensor& x, const Tensor& index, int64_t O, int64_t Rx, int64_t Rj, int64_t I,
            Tensor& y) {
    dispatch_all(x.dtype(), "gather", [&]<typename T>() {
        const T* xs = x.data<T>();
        const int64_t* idx = index.data<int64_t>();
        T* ys = y.data<T>();
        for_each_out_row(O * Rj, I, [&](int64_t r) {
            const int64_t* irow = idx + r * I;
            const T* xo = xs + (r / Rj) * Rx * I;
            T* yrow = ys + r * I;
            for (int64_t i = 0; i < I; ++i) yrow[i] = xo[irow[i] * I + i];
        });
    });
}

void scatter_add(Tensor& dx, const Tensor& index, const Tensor& src, int64_t O, int64_t Rx,
                 int64_t Rj, int64_t I) {
    dispatch_float(dx.dtype(), "scatter_add", [&]<typename T>() {
        T* d = dx.data<T>();
        const int64_t* idx = index.data<int64_t>();
        const T* s = src.data<T>();
        for_each_column_block(O, I, Rj, [&](int64_t o, int64_t i0, int64_t i1) {
            T* dout = d + o * Rx * I;
            for (int64_t j = 0; j < Rj; ++j) {
                const int64_t* irow = idx + (o * Rj + j) * I;
                const T* srow = s + (o * Rj + j) * I;
                for (int64_t i = i0; i < i1; ++i) dout[irow[i] * I + i] += srow[i];
            }
        });
    });
}

void index_select(const Tensor& x, const Tensor& index, int64_t O, int64_t Rx, int64_t Rj,
                  int64_t I, Tensor& y) {
    dispatch_all(x.dtype(), "index_select", [&]<typename T>() {
        const T* xs = x.data<T>();
        const int64_t* idx = index.data<int64_t>();
        T* ys = y.data<T>();
        for_each_out_row(O * Rj, I, [&](int64_t r) {
            int64_t o = r / Rj, j = r % Rj;
            std::memcpy(ys + r * I, xs + (o * Rx + idx[j]) * I, size_t(I) * sizeof(T));
        });
    });
}

void index_add(Tensor& dx, const Tensor& index, const Tensor& src, int64_t O, int64_t Rx,
               int64_t Rj, int64_t I) {
    dispatch_float(dx.dtype(), "index_add", [&]<typename T>() {
        T* d = dx.data<T>();
        const int64_t* idx = index.data<int64_t>();
        const T* s = src.data<T>();
        for_each_column_block(O, I, Rj, [&](int64_t o, int64_t i0, int64_t i1) {
            for (int64_t j = 0; j < Rj; ++j) {
                T* drow = d + (o * Rx + idx[j]) * I;
                const T* srow = s + (o * Rj + j) * I;
                for (int64_t i = i0; i < i1; ++i) drow[i] += srow[i];
            }
        });
    });
}

void check_indices(const Tensor& index, int64_t limit, const char* op) {
    const int64_t* idx = index.data<int64_t>();
    int64_t n = index.numel();
    for (int64_t k = 0; k < n; ++k)
        if (idx[k] < 0 || idx[k] >= limit)
            fail(op, "index {} at flat position {} is out of range: valid indices are [0, {})",
                 idx[k], k, limit);
}

}  // namespace vg::cpu
