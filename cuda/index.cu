// CUDA gather / scatter_add / index_select / index_add over contiguous [O, R, I] views (the
// adjoints add with atomicAdd), and the index range check, which reports a bad index as a
// vg::Error naming the op instead of letting a kernel fault on the device.
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

// dx[o, index[o, j, i], i] += src[o, j, i]
template <typename T>
__global__ void scatter_add_kernel(T* dx, const int64_t* index, const T* src, int64_t Rx,
                                   int64_t Rj, int64_t I, int64_t n) {
    VG_GRID_STRIDE_LOOP(e, n) {
        int64_t o = e / (Rj * I), i = e % I, r = index[e];
        if (r >= 0 && r < Rx) atomicAdd(dx + (o * Rx + r) * I + i, src[e]);
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

// dx[o, index[j], i] += src[o, j, i]
template <typename T>
__global__ void index_add_kernel(T* dx, const int64_t* index, const T* src, int64_t Rx, int64_t Rj,
                                 int64_t I, int64_t n) {
    VG_GRID_STRIDE_LOOP(e, n) {
        int64_t o = e / (Rj * I), j = (e / I) % Rj, i = e % I, r = index[j];
        if (r >= 0 && r < Rx) atomicAdd(dx + (o * Rx + r) * I + i, src[e]);
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
    int64_t n = O * Rj * I;
    if (n == 0) return;
    dispatch_float(dx.dtype(), "scatter_add", [&]<typename T>() {
        launch("scatter_add", "scatter_add_kernel", scatter_add_kernel<T>, grid_for(n), kBlock, 0,
               dx.device().index, dev_ptr<T>(dx), dev_ptr<int64_t>(index), dev_ptr<T>(src), Rx, Rj,
               I, n);
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
    int64_t n = O * Rj * I;
    if (n == 0) return;
    dispatch_float(dx.dtype(), "index_add", [&]<typename T>() {
        launch("index_add", "index_add_kernel", index_add_kernel<T>, grid_for(n), kBlock, 0,
               dx.device().index, dev_ptr<T>(dx), dev_ptr<int64_t>(index), dev_ptr<T>(src), Rx, Rj,
               I, n);
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
    VG_CUDA_CHECK(cudaStreamSynchronize(st), op);
    if (pos == ULLONG_MAX) return;
    int64_t bad = 0;
    VG_CUDA_CHECK(
        cudaMemcpyAsync(&bad, dev_ptr<int64_t>(idx) + pos, sizeof(bad), cudaMemcpyDeviceToHost, st),
        op);
    VG_CUDA_CHECK(cudaStreamSynchronize(st), op);
    fail(op, "index {} at flat position {} is out of range: valid indices are [0, {})", bad,
         (long long)pos, limit);
}

}  // namespace vg::cuda
