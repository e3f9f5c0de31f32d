// CUDA copy (with dtype casts and any strides), fill, arange, random fill, and copies between
// devices. This file is compiled with -fmad=false so random_value rounds exactly as on the CPU.
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace vg::cuda {

namespace {

template <typename S, typename D, bool Contig>
__global__ void copy_kernel(int64_t n, StridedView<2> v, const S* src, D* dst) {
    VG_GRID_STRIDE_LOOP(i, n) {
        if constexpr (Contig) {
            dst[i] = D(src[i]);
        } else {
            int64_t o[2];
            v.offsets(i, o);
            dst[o[1]] = D(src[o[0]]);
        }
    }
}

template <typename T>
__global__ void fill_kernel(int64_t n, StridedView<1> v, T* dst, T value) {
    VG_GRID_STRIDE_LOOP(i, n) {
        int64_t o[1];
        v.offsets(i, o);
        dst[o[0]] = value;
    }
}

template <typename T>
__global__ void arange_kernel(int64_t n, T* dst) {
    VG_GRID_STRIDE_LOOP(i, n) dst[i] = T(i);
}

// Element i depends only on (seed, offset + i): the same values as the CPU loop, in any order.
template <typename T>
__global__ void random_kernel(int64_t n, T* dst, RandomParams p, uint64_t seed, uint64_t offset) {
    VG_GRID_STRIDE_LOOP(i, n) dst[i] = T(random_value(p, seed, offset, uint64_t(i)));
}

}  // namespace

void copy(const Tensor& src, Tensor& dst) {
    int64_t n = dst.numel();
    if (n == 0) return;
    bool contig = src.is_contiguous() && dst.is_contiguous();
    StridedView<2> v = strided_view<2>(dst.shape(), {&src.strides(), &dst.strides()});
    int dev = dst.device().index;
    dispatch_all(src.dtype(), "copy", [&]<typename S>() {
        dispatch_all(dst.dtype(), "copy", [&]<typename D>() {
            if (contig)
                launch("copy", "copy_kernel", copy_kernel<S, D, true>, grid_for(n), kBlock, 0, dev,
                       n, v, dev_ptr<S>(src), dev_ptr<D>(dst));
            else
                launch("copy", "copy_kernel", copy_kernel<S, D, false>, grid_for(n), kBlock, 0, dev,
                       n, v, dev_ptr<S>(src), dev_ptr<D>(dst));
        });
    });
}

void fill(Tensor& dst, double value) {
    int64_t n = dst.numel();
    if (n == 0) return;
    StridedView<1> v = strided_view<1>(dst.shape(), {&dst.strides()});
    dispatch_all(dst.dtype(), "fill", [&]<typename T>() {
        launch("fill", "fill_kernel", fill_kernel<T>, grid_for(n), kBlock, 0, dst.device().index, n,
               v, dev_ptr<T>(dst), T(value));
    });
}

void arange(Tensor& dst) {
    int64_t n = dst.numel();
    if (n == 0) return;
    dispatch_all(dst.dtype(), "arange", [&]<typename T>() {
        launch("arange", "arange_kernel", arange_kernel<T>, grid_for(n), kBlock, 0,
               dst.device().index, n, dev_ptr<T>(dst));
    });
}

void random_fill(Tensor& dst, const RandomParams& p, uint64_t seed, uint64_t offset) {
    int64_t n = dst.numel();
    if (n == 0) return;
    dispatch_float(dst.dtype(), "random_fill", [&]<typename T>() {
        launch("random_fill", "random_kernel", random_kernel<T>, grid_for(n), kBlock, 0,
               dst.device().index, n, dev_ptr<T>(dst), p, seed, offset);
    });
}

void copy_across(const Tensor& src, Tensor& dst) {
    VG_CHECK(src.shape() == dst.shape() && src.dtype() == dst.dtype(), "Tensor::to",
             "source {} and destination {} differ in shape or dtype", src.desc(), dst.desc());
    VG_CHECK(src.is_contiguous() && dst.is_contiguous(), "Tensor::to",
             "cross-device copies need contiguous tensors, got {} -> {}", src.desc(), dst.desc());
    size_t bytes = size_t(src.numel()) * dtype_size(src.dtype());
    if (bytes == 0) return;
    Device sd = src.device(), dd = dst.device();
    const void* s = src.raw_data();
    void* d = dst.raw_data();
    if (sd.is_cpu() && dd.is_cuda()) {
        // Wait for the copy before returning: the caller may drop `src` at once, and its block
        // then goes back to the CPU pool and is rewritten by the next op. CUDA only says a copy
        // from pageable memory "might be" synchronous (it is not when the memory happens to be
        // pinned), so nothing else guarantees the driver has read it. Staging through a pinned
        // buffer would let the copy overlap compute, but needs a pinned pool and an event per
        // buffer; uploads happen once per batch, where one wait costs little.
        VG_CUDA_CHECK(cudaMemcpyAsync(d, s, bytes, cudaMemcpyHostToDevice, stream(dd)),
                      "Tensor::to");
        synchronize(dd.index, "Tensor::to");
    } else if (sd.is_cuda() && dd.is_cpu()) {
        VG_CUDA_CHECK(cudaMemcpyAsync(d, s, bytes, cudaMemcpyDeviceToHost, stream(sd)),
                      "Tensor::to");
        synchronize(sd.index, "Tensor::to");
    } else if (sd.is_cuda() && dd.is_cuda()) {
        if (sd.index == dd.index) {
            VG_CUDA_CHECK(cudaMemcpyAsync(d, s, bytes, cudaMemcpyDeviceToDevice, stream(sd)),
                          "Tensor::to");
            return;
        }
        // Two streams: dst's block may still be in use by queued work on its own device, and
        // later work on dst's stream must see the copied values, so fence both sides.
        synchronize(dd.index, "Tensor::to");
        VG_CUDA_CHECK(cudaMemcpyPeerAsync(d, dd.index, s, sd.index, bytes, stream(sd)),
                      "Tensor::to");
        synchronize(sd.index, "Tensor::to");
    } else {
        fail("Tensor::to", "copy_across called with two CPU tensors ({} -> {})", src.desc(),
             dst.desc());
    }
}

}  // namespace vg::cuda
