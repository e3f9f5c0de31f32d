// Reductions: every functor of VG_REDUCTIONS (core/reductions.h) goes through reduce(), which
// validates, views the input as [O, R, I] with R the reduced dims (free when they are consecutive
// in a contiguous tensor), runs the generic kernel and records the functor's backward rule. The
// named ops are generated from the list; max(dim) adds the positions, var is a composite.
#include <algorithm>

#include "autograd/ops.h"
#include "autograd/record.h"
#include "core/dispatch.h"

namespace vg {

namespace {

std::vector<int> normalize_dims(const std::vector<int64_t>& dims, int ndim, const char* op) {
    std::vector<int> out;
    if (dims.empty()) {
        for (int d = 0; d < ndim; ++d) out.push_back(d);
        return out;
    }
    for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
    std::sort(out.begin(), out.end());
    if (std::adjacent_find(out.begin(), out.end()) != out.end())
        fail(op, "a dim appears twice in the reduction dims");
    if (ndim == 0) out.clear();  // dim 0 / -1 of a scalar: the scalar itself
    return out;
}

Shape reduced_shape(const Shape& s, const std::vector<int>& dims, bool keepdim) {
    Shape out;
    for (int d = 0; d < s.size(); ++d) {
        bool r = std::find(dims.begin(), dims.end(), d) != dims.end();
        if (!r)
            out.push_back(s[d]);
        else if (keepdim)
            out.push_back(1);
    }
    return out;
}

// How x is seen as [O, R, I]: directly when x is contiguous and the reduced dims are consecutive,
// otherwise as a contiguous copy of x.permute(perm), the kept dims first and the reduced last.
struct Grouping {
    int64_t O = 1, R = 1, I = 1;
    std::vector<int64_t> perm;  // empty: no copy
};

Grouping grouping(const Tensor& x, const std::vector<int>& dims) {
    Grouping g;
    const Shape& s = x.shape();
    bool consecutive =
        x.is_contiguous() && (dims.empty() || dims.back() - dims.front() + 1 == int(dims.size()));
    if (consecutive) {
        for (int d = 0; d < x.dim(); ++d) {
            if (dims.empty() || d < dims.front())
                g.O *= s[d];
            else if (d > dims.back())
                g.I *= s[d];
            else
                g.R *= s[d];
        }
        return g;
    }
    for (int d = 0; d < x.dim(); ++d)
        if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
            g.perm.push_back(d);
            g.O *= s[d];
        }
    for (int d : dims) {
        g.perm.push_back(d);
        g.R *= s[d];
    }
    return g;
}

// x (no history) in the [O, R, I] layout of g.
Tensor grouped(const Tensor& x, const Grouping& g) {
    return g.perm.empty() ? x : x.permute(g.perm).contiguous();
}

// A contiguous [O, R, I] gradient seen in the shape and dim order of x.
Tensor ungrouped(const Tensor& d, const Grouping& g, const Shape& xs) {
    if (g.perm.empty()) return d.view(xs);
    Shape permuted;
    std::vector<int64_t> inverse(g.perm.size());
    for (size_t k = 0; k < g.perm.size(); ++k) {
        permuted.push_back(xs[int(g.perm[k])]);
        inverse[size_t(g.perm[k])] = int64_t(k);
    }
    return d.view(permuted).permute(inverse);
}

struct Reduced {
    Tensor values, index;  // index: the selected positions (Select reductions only)
};

Reduced reduce_impl(ReduceOp op, const Tensor& x, const std::vector<int>& dims, bool keepdim) {
    const char* name = op_name(op).data();
    const ReduceGrad kind = visit_reduction(op, []<typename F>() { return F::grad; });
    Grouping g = grouping(x, dims);
    if (kind == ReduceGrad::Select && g.R == 0)
        fail(name, "reduction over an empty dim of {}", x.desc());
    Shape out_shape = reduced_shape(x.shape(), dims, keepdim);
    Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
    Tensor index;
    if (kind == ReduceGrad::Select) index = Tensor::empty(out_shape, DType::I64, x.device());
    VG_DISPATCH(x.device(), reduce_fwd, op, grouped(x.detach(), g), g.O, g.R, g.I, y, index);
    Shape kept = reduced_shape(x.shape(), dims, true);
    // Only the Elementwise rule reads x and y; Select reads the positions.
    bool reads_xy = kind == ReduceGrad::Elementwise;
    y = record(
        name, y, {x},
        [op, kind, g, kept, xs = x.shape(), x = reads_xy ? x.detach() : Tensor(),
         y = reads_xy ? y.detach() : Tensor(),
         index](const std::vector<Tensor>& gr, const std::vector<bool>&) {
            Tensor dy = gr[0].reshape(kept);
            if (kind == ReduceGrad::Broadcast) {
                double scale = visit_reduction(op, [&]<typename F>() {
                    if constexpr (F::grad == ReduceGrad::Broadcast)
                        return F::template derivative<double>(0.0, 0.0, g.R);
                    return 1.0;
                });
                return std::vector<Tensor>{(scale == 1.0 ? dy : mul_scalar(dy, scale)).expand(xs)};
            }
            Tensor dx = Tensor::empty({g.O * g.R * g.I}, dy.dtype(), dy.device());
            Tensor xg = x.defined() ? grouped(x, g) : Tensor();
            VG_DISPATCH(dy.device(), reduce_bwd, op, xg, y, index, dy.contiguous(), g.O, g.R, g.I,
                        dx);
            return std::vector<Tensor>{ungrouped(dx, g, xs)};
        });
    return {y, index};
}

Reduced reduce_checked(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims,
                       bool keepdim) {
    const char* name = op_name(op).data();
    check_defined(name, x);
    if (!is_floating(x.dtype()))
        fail(name, "expected a float32 or float64 tensor, got {}", x.desc());
    return reduce_impl(op, x, normalize_dims(dims, x.dim(), name), keepdim);
}

}  // namespace

Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    return reduce_checked(op, x, dims, keepdim).values;
}

#define VG_DEFINE_REDUCTION(Name, name)                                            \
    Tensor name(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { \
        return reduce(ReduceOp::Name, x, dims, keepdim);                           \
    }
VG_REDUCTIONS(VG_DEFINE_REDUCTION)
#undef VG_DEFINE_REDUCTION

MaxResult max(const Tensor& x, int64_t dim, bool keepdim) {
    Reduced r = reduce_checked(ReduceOp::Max, x, {dim}, keepdim);
    return {r.values, r.index};
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
    return max(x.detach(), dim, keepdim).indices;
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims_in, int64_t correction, bool keepdim) {
    check_defined("var", x);
    std::vector<int> dims = normalize_dims(dims_in, x.dim(), "var");
    int64_t n = 1;
    for (int d : dims) n *= x.shape()[d];
    if (n - correction <= 0)
        fail("var", "{} elements per group with correction {} leaves no degrees of freedom ({})", n,
             correction, x.desc());
    // A composite: its backward needs the mean, which a per-element rule (x, y, n) does not see,
    // and no hot path calls it.
    Tensor centered = x - mean(x, dims_in, true);
    return mul_scalar(sum(centered * centered, dims_in, keepdim), 1.0 / double(n - correction));
}

}  // namespace vg
