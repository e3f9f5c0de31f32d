// CUDA gather / scatter_add / index_select / index_add over contiguous [O, R, I] views, and the
// index range check, which reports a bad index as a vg::Error naming the op instead of letting a
// kernel fault on the device. The adjoints (scatter_add, index_add) give each thread one (o, i)
// column and add the source rows j = 0, 1, ... in order, as the CPU does: no atomics, so the
// result is the same on every run and equal to the CPU's bit for bit. The price is parallelism
// O * I rather than O * Rj * I; neither op is on a model's training path today.
#include <climits>

#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace vg::cuda {

namespace {

// Out-of-range indices were rejected by check_indices before these run; the kernels still skip
// them so a missed check can never write outside a buffer.

// y[o, j, i] = x[o, index[o, j, i], i]
template <typename T>
__global__ void gather_kernel(const T* x, const int64_t* index, int64_t Rx, int64_t Rj, int64_t I,
                              int64_t n, T* y) {
    VG_GRID_STRIDE_LOOP(e, n) {
        int64_t o = e / (Rj * I), i = e % I, r = index[e];
        y[e] = (r >= 0 && r < Rx) ? x[(o * Rx + r) * I + i] : T(0);
    }
}

// dx[o, index[o, j, i], i] += src[o, j, i]: thread (o, i) walks j in order.
template <typename T>
__global__ void scatter_add_kernel(T* dx, const int64_t* index, const T* src, int64_t Rx,
                                   int64_t Rj, int64_t I, int64_t columns) {
    VG_GRID_STRIDE_LOOP(col, columns) {
        int64_t o = col / I, i = col % I;
        for (int64_t j = 0; j < Rj; ++j) {
            int64_t e = (o * Rj + j) * I + i, r = index[e];
            if (r >= 0 && r < Rx) dx[(o * Rx + r) * I + i] += src[e];
        }
    }
}

// y[o, j, i] = x[o, index[j], i]
template <typename T>
__global__ void index_select_kernel(const T* x, const int64_t* index, int64_t Rx, int64_t Rj,
                                    int64_t I, int64_t n, T* y) {
    VG_GRID_STRIDE_LOOP(e, n) {
        int64_t o = e / (Rj * I), j = (e / I) % Rj, i = e % I, r = index[j];
        y[e] = (r >= 0 && r < Rx) ? x[(o * Rx + r) * I + i] : T(0);
    }
}

// dx[o, index[j], i] += src[o, j, i]: thread (o, i) walks j in order.
template <typename T>
__global__ void index_add_kernel(T* dx, const int64_t* index, const T* src, int64_t Rx, int64_t Rj,
                                 int64_t I, int64_t columns) {
    VG_GRID_STRIDE_LOOP(col, columns) {
        int64_t o = col / I, i = col % I;
        for (int64_t j = 0; j < Rj; ++j) {
            int64_t r = index[j];
            if (r >= 0 && r < Rx) dx[(o * Rx + r) * I + i] += src[(o * Rj + j) * I + i];
        }
    }
}

// *first = the smallest flat position whose index is outside [0, limit) (left at ULLONG_MAX
// when there is none).
__global__ void find_bad_index_kernel(const int64_t* index, int64_t n, int64_t limit,
                                      unsigned long long* first) {
    VG_GRID_STRIDE_LOOP(k, n) {
        int64_t v = index[k];
        if (v < 0 || v >= limit) atomicMin(first, (unsigned long long)k);
    }
}

}  // namespace

void gather(const Tensor& x, const Tensor& index, int64_t O, int64_t Rx, int64_t Rj, int64_t I,
            Tensor& y) {
    int64_t n = O * Rj * I;
    if (n == 0) return;
    dispatch_all(x.dtype(), "gather", [&]<typename T>() {
        launch("gather", "gather_kernel", gather_kernel<T>, grid_for(n), kBlock, 0,
               x.device().index, dev_ptr<T>(x), dev_ptr<int64_t>(index), Rx, Rj, I, n,
               dev_ptr<T>(y));
    });
}

void scatter_add(Tensor& dx, const Tensor& index, const Tensor& src, int64_t O, int64_t Rx,
                 int64_t Rj, int64_t I) {
    int64_t columns = O * I;
    if (columns == 0 || Rj == 0) return;
    dispatch_float(dx.dtype(), "scatter_add", [&]<typename T>() {
        launch("scatter_add", "scatter_add_kernel", scatter_add_kernel<T>, grid_for(columns),
               kBlock, 0, dx.device().index, dev_ptr<T>(dx), dev_ptr<int64_t>(index),
               dev_ptr<T>(src), Rx, Rj, I, columns);
    });
}

void index_select(const Tensor& x, const Tensor& index, int64_t O, int64_t Rx, int64_t Rj,
                  int64_t I, Tensor& y) {
    int64_t n = O * Rj * I;
    if (n == 0) return;
    dispatch_all(x.dtype(), "index_select", [&]<typename T>() {
        launch("index_select", "index_select_kernel", index_select_kernel<T>, grid_for(n), kBlock,
               0, x.device().index, dev_ptr<T>(x), dev_ptr<int64_t>(index), Rx, Rj, I, n,
               dev_ptr<T>(y));
    });
}

void index_add(Tensor& dx, const Tensor& index, const Tensor& src, int64_t O, int64_t Rx,
               int64_t Rj, int64_t I) {
    int64_t columns = O * I;
    if (columns == 0 || Rj == 0) return;
    dispatch_float(dx.dtype(), "index_add", [&]<typename T>() {
        launch("index_add", "index_add_kernel", index_add_kernel<T>, grid_for(columns), kBlock, 0,
               dx.device().index, dev_ptr<T>(dx), dev_ptr<int64_t>(index), dev_ptr<T>(src), Rx, Rj,
               I, columns);
    });
}

// The one host sync of the indexing ops: the answer is needed before any kernel reads memory.
void check_indices(const Tensor& index, int64_t limit, const char* op) {
    int64_t n = index.numel();
    if (n == 0) return;
    Tensor idx = index.is_contiguous() ? index : index.contiguous();
    int dev = idx.device().index;
    Tensor first = Tensor::empty({1}, DType::I64, idx.device());
    auto* fp = static_cast<unsigned long long*>(first.raw_data());
    cudaStream_t st = stream(dev);
    VG_CUDA_CHECK(cudaMemsetAsync(fp, 0xff, sizeof(unsigned long long), st), op);
    launch(op, "find_bad_index_kernel", find_bad_index_kernel, grid_for(n), kBlock, 0, dev,
           dev_ptr<int64_t>(idx), n, limit, fp);
    unsigned long long pos = 0;
    VG_CUDA_CHECK(cudaMemcpyAsync(&pos, fp, sizeof(pos), cudaMemcpyDeviceToHost, st), op);
    synchronize(dev, op);
    if (pos == ULLONG_MAX) return;
    int64_t bad = 0;
    VG_CUDA_CHECK(
        cudaMemcpyAsync(&bad, dev_ptr<int64_t>(idx) + pos, sizeof(bad), cudaMemcpyDeviceToHost, st),
        op);
    synchronize(dev, op);
    fail(op, "index {} at flat position {} is out of range: valid indices are [0, {})", bad,
         (long long)pos, limit);
}

}  // namespace vg::cuda
