// CUDA elementwise kernels: one strided/broadcast kernel per arity, templated on the functor from
// core/functors.h (the same math the CPU loops run) and on a contiguous fast path.
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace vg::cuda {

namespace {

template <typename T, typename F, bool Contig>
__global__ void unary_fwd_kernel(int64_t n, StridedView<2> v, const T* x, T* y, UnaryParams p) {
    VG_GRID_STRIDE_LOOP(i, n) {
        if constexpr (Contig) {
            y[i] = F::forward(x[i], p);
        } else {
            int64_t o[2];
            v.offsets(i, o);
            y[o[1]] = F::forward(x[o[0]], p);
        }
    }
}

// dx = dy * f'(x, y)
template <typename T, typename F, bool Contig>
__global__ void unary_bwd_kernel(int64_t n, StridedView<4> v, const T* x, const T* y, const T* dy,
                                 T* dx, UnaryParams p) {
    VG_GRID_STRIDE_LOOP(i, n) {
        if constexpr (Contig) {
            dx[i] = dy[i] * F::derivative(x[i], y[i], p);
        } else {
            int64_t o[4];
            v.offsets(i, o);
            dx[o[3]] = dy[o[2]] * F::derivative(x[o[0]], y[o[1]], p);
        }
    }
}

template <typename T, typename F, bool Contig>
__global__ void binary_fwd_kernel(int64_t n, StridedView<3> v, const T* a, const T* b, T* y) {
    VG_GRID_STRIDE_LOOP(i, n) {
        if constexpr (Contig) {
            y[i] = F::forward(a[i], b[i]);
        } else {
            int64_t o[3];
            v.offsets(i, o);
            y[o[2]] = F::forward(a[o[0]], b[o[1]]);
        }
    }
}

// da = dy * d_da(a, b), db = dy * d_db(a, b); a null output is skipped.
template <typename T, typename F, bool Contig>
__global__ void binary_bwd_kernel(int64_t n, StridedView<5> v, const T* a, const T* b, const T* dy,
                                  T* da, T* db) {
    VG_GRID_STRIDE_LOOP(i, n) {
        int64_t o[5];
        if constexpr (Contig) {
#pragma unroll
            for (int k = 0; k < 5; ++k) o[k] = i;
        } else {
            v.offsets(i, o);
        }
        T av = a[o[0]], bv = b[o[1]], g = dy[o[2]];
        if (da) da[o[3]] = g * F::d_da(av, bv);
        if (db) db[o[4]] = g * F::d_db(av, bv);
    }
}

template <typename C, typename T>
__global__ void where_kernel(int64_t n, StridedView<4> v, const C* cond, const T* a, const T* b,
                             T* y) {
    VG_GRID_STRIDE_LOOP(i, n) {
        int64_t o[4];
        v.offsets(i, o);
        y[o[3]] = cond[o[0]] != C(0) ? a[o[1]] : b[o[2]];
    }
}

bool all_contiguous(std::initializer_list<const Tensor*> ts) {
    for (const Tensor* t : ts)
        if (t->defined() && !t->is_contiguous()) return false;
    return true;
}

}  // namespace

void unary_fwd(UnaryOp op, UnaryParams p, const Tensor& x, Tensor& y) {
    int64_t n = y.numel();
    if (n == 0) return;
    bool contig = all_contiguous({&x, &y});
    StridedView<2> v = strided_view<2>(y.shape(), {&x.strides(), &y.strides()});
    int dev = y.device().index;
    dispatch_float(x.dtype(), "unary_fwd", [&]<typename T>() {
        visit_unary(op, [&]<typename F>() {
            auto k = contig ? unary_fwd_kernel<T, F, true> : unary_fwd_kernel<T, F, false>;
            launch(op_name(op).data(), "unary_fwd_kernel", k, grid_for(n), kBlock, 0, dev, n, v,
                   dev_ptr<T>(x), dev_ptr<T>(y), p);
        });
    });
}

void unary_bwd(UnaryOp op, UnaryParams p, const Tensor& x, const Tensor& y, const Tensor& dy,
               Tensor& dx) {
    int64_t n = dx.numel();
    if (n == 0) return;
    bool contig = all_contiguous({&x, &y, &dy, &dx});
    StridedView<4> v =
        strided_view<4>(dx.shape(), {&x.strides(), &y.strides(), &dy.strides(), &dx.strides()});
    int dev = dx.device().index;
    dispatch_float(x.dtype(), "unary_bwd", [&]<typename T>() {
        visit_unary(op, [&]<typename F>() {
            auto k = contig ? unary_bwd_kernel<T, F, true> : unary_bwd_kernel<T, F, false>;
            launch(op_name(op).data(), "unary_bwd_kernel", k, grid_for(n), kBlock, 0, dev, n, v,
                   dev_ptr<T>(x), dev_ptr<T>(y), dev_ptr<T>(dy), dev_ptr<T>(dx), p);
        });
    });
}

void binary_fwd(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& y) {
    int64_t n = y.numel();
    if (n == 0) return;
    bool contig = all_contiguous({&a, &b, &y});
    StridedView<3> v = strided_view<3>(y.shape(), {&a.strides(), &b.strides(), &y.strides()});
    int dev = y.device().index;
    dispatch_float(y.dtype(), "binary_fwd", [&]<typename T>() {
        visit_binary(op, [&]<typename F>() {
            auto k = contig ? binary_fwd_kernel<T, F, true> : binary_fwd_kernel<T, F, false>;
            launch(op_name(op).data(), "binary_fwd_kernel", k, grid_for(n), kBlock, 0, dev, n, v,
                   dev_ptr<T>(a), dev_ptr<T>(b), dev_ptr<T>(y));
        });
    });
}

void binary_bwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, Tensor& da,
                Tensor& db) {
    int64_t n = dy.numel();
    if (n == 0 || (!da.defined() && !db.defined())) return;
    bool contig = all_contiguous({&a, &b, &dy, &da, &db});
    // An undefined output gets zero strides; its null pointer makes the kernel skip the write.
    Shape zero = Shape::filled(dy.dim(), 0);
    const Shape& sa = da.defined() ? da.strides() : zero;
    const Shape& sb = db.defined() ? db.strides() : zero;
    StridedView<5> v =
        strided_view<5>(dy.shape(), {&a.strides(), &b.strides(), &dy.strides(), &sa, &sb});
    int dev = dy.device().index;
    dispatch_float(dy.dtype(), "binary_bwd", [&]<typename T>() {
        visit_binary(op, [&]<typename F>() {
            auto k = contig ? binary_bwd_kernel<T, F, true> : binary_bwd_kernel<T, F, false>;
            T* dap = da.defined() ? dev_ptr<T>(da) : nullptr;
            T* dbp = db.defined() ? dev_ptr<T>(db) : nullptr;
            launch(op_name(op).data(), "binary_bwd_kernel", k, grid_for(n), kBlock, 0, dev, n, v,
                   dev_ptr<T>(a), dev_ptr<T>(b), dev_ptr<T>(dy), dap, dbp);
        });
    });
}

void where_fwd(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& y) {
    int64_t n = y.numel();
    if (n == 0) return;
    StridedView<4> v =
        strided_view<4>(y.shape(), {&cond.strides(), &a.strides(), &b.strides(), &y.strides()});
    int dev = y.device().index;
    dispatch_float(y.dtype(), "where", [&]<typename T>() {
        dispatch_all(cond.dtype(), "where", [&]<typename C>() {
            launch("where", "where_kernel", where_kernel<C, T>, grid_for(n), kBlock, 0, dev, n, v,
                   dev_ptr<C>(cond), dev_ptr<T>(a), dev_ptr<T>(b), dev_ptr<T>(y));
        });
    });
}

}  // namespace vg::cuda
