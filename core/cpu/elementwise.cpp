// CPU elementwise kernels: one strided loop per arity, instantiated for every functor of
// VG_UNARY_OPS / VG_BINARY_OPS through one switch before the loop.
#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

namespace {
template <typename T>
T* base(const Tensor& t) {
    return static_cast<T*>(t.storage()->data());
}
bool unit(const auto& st) {
    for (int64_t s : st)
        if (s != 1) return false;
    return true;
}
}  // namespace

void unary_fwd(UnaryOp op, UnaryParams p, const Tensor& x, Tensor& y) {
    dispatch_float(x.dtype(), "unary_fwd", [&]<typename T>() {
        visit_unary(op, [&]<typename F>() {
            const T* xs = base<T>(x);
            T* ys = base<T>(y);
            for_each_row<2>(y.shape(), {&x.strides(), &y.strides()}, {x.offset(), y.offset()},
                            [&](std::array<int64_t, 2> o, int64_t n, std::array<int64_t, 2> st) {
                                const T* xp = xs + o[0];
                                T* yp = ys + o[1];
                                if (unit(st)) {
                                    for (int64_t i = 0; i < n; ++i) yp[i] = F::forward(xp[i], p);
                                } else {
                                    for (int64_t i = 0; i < n; ++i)
                                        yp[i * st[1]] = F::forward(xp[i * st[0]], p);
                                }
                            });
        });
    });
}

void unary_bwd(UnaryOp op, UnaryParams p, const Tensor& x, const Tensor& y, const Tensor& dy,
               Tensor& dx) {
    dispatch_float(x.dtype(), "unary_bwd", [&]<typename T>() {
        visit_unary(op, [&]<typename F>() {
            const T *xs = base<T>(x), *ys = base<T>(y), *gs = base<T>(dy);
            T* ds = base<T>(dx);
            for_each_row<4>(dx.shape(), {&x.strides(), &y.strides(), &dy.strides(), &dx.strides()},
                            {x.offset(), y.offset(), dy.offset(), dx.offset()},
                            [&](std::array<int64_t, 4> o, int64_t n, std::array<int64_t, 4> st) {
                                const T *xp = xs + o[0], *yp = ys + o[1], *gp = gs + o[2];
                                T* dp = ds + o[3];
                                if (unit(st)) {
                                    for (int64_t i = 0; i < n; ++i)
                                        dp[i] = gp[i] * F::derivative(xp[i], yp[i], p);
                                } else {
                                    for (int64_t i = 0; i < n; ++i)
                                        dp[i * st[3]] =
                                            gp[i * st[2]] *
                                            F::derivative(xp[i * st[0]], yp[i * st[1]], p);
                                }
                            });
        });
    });
}

void binary_fwd(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& y) {
    dispatch_float(y.dtype(), "binary_fwd", [&]<typename T>() {
        visit_binary(op, [&]<typename F>() {
            const T *as = base<T>(a), *bs = base<T>(b);
            T* ys = base<T>(y);
            for_each_row<3>(y.shape(), {&a.strides(), &b.strides(), &y.strides()},
                            {a.offset(), b.offset(), y.offset()},
                            [&](std::array<int64_t, 3> o, int64_t n, std::array<int64_t, 3> st) {
                                const T *ap = as + o[0], *bp = bs + o[1];
                                T* yp = ys + o[2];
                                if (unit(st)) {
                                    for (int64_t i = 0; i < n; ++i)
                                        yp[i] = F::forward(ap[i], bp[i]);
                                } else {
                                    for (int64_t i = 0; i < n; ++i)
                                        yp[i * st[2]] = F::forward(ap[i * st[0]], bp[i * st[1]]);
                                }
                            });
        });
    });
}

void binary_bwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, Tensor& da,
                Tensor& db) {
    dispatch_float(dy.dtype(), "binary_bwd", [&]<typename T>() {
        visit_binary(op, [&]<typename F>() {
            const T *as = base<T>(a), *bs = base<T>(b), *gs = base<T>(dy);
            // An undefined output is written to a dummy stride-0 slot so one loop serves all.
            T dummy = 0;
            T* das = da.defined() ? base<T>(da) : &dummy;
            T* dbs = db.defined() ? base<T>(db) : &dummy;
            Shape zero = Shape::filled(dy.dim(), 0);
            const Shape& sa = da.defined() ? da.strides() : zero;
            const Shape& sb = db.defined() ? db.strides() : zero;
            for_each_row<5>(dy.shape(), {&a.strides(), &b.strides(), &dy.strides(), &sa, &sb},
                            {a.offset(), b.offset(), dy.offset(), da.defined() ? da.offset() : 0,
                             db.defined() ? db.offset() : 0},
                            [&](std::array<int64_t, 5> o, int64_t n, std::array<int64_t, 5> st) {
                                const T *ap = as + o[0], *bp = bs + o[1], *gp = gs + o[2];
                                T *dap = das + o[3], *dbp = dbs + o[4];
                                for (int64_t i = 0; i < n; ++i) {
                                    T av = ap[i * st[0]], bv = bp[i * st[1]], g = gp[i * st[2]];
                                    dap[i * st[3]] = g * F::d_da(av, bv);
                                    dbp[i * st[4]] = g * F::d_db(av, bv);
                                }
                            });
        });
    });
}

void where_fwd(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& y) {
    dispatch_float(y.dtype(), "where", [&]<typename T>() {
        dispatch_all(cond.dtype(), "where", [&]<typename C>() {
            const C* cs = base<C>(cond);
            const T *as = base<T>(a), *bs = base<T>(b);
            T* ys = base<T>(y);
            for_each_row<4>(y.shape(), {&cond.strides(), &a.strides(), &b.strides(), &y.strides()},
                            {cond.offset(), a.offset(), b.offset(), y.offset()},
                            [&](std::array<int64_t, 4> o, int64_t n, std::array<int64_t, 4> st) {
                                for (int64_t i = 0; i < n; ++i)
                                    ys[o[3] + i * st[3]] = cs[o[0] + i * st[0]] != C(0)
                                                               ? as[o[1] + i * st[1]]
                                                               : bs[o[2] + i * st[2]];
                            });
        });
    });
}

}  // namespace vg::cpu
