// Reductions: sum, mean, var, max/argmax over any dims. The reduced dims are brought together
// (free when they already are) so one [O, R, I] kernel serves every case.
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

// A contiguous tensor viewed as [O, R, I] with R the product of `dims`.
struct Grouped {
    Tensor x;
    int64_t O = 1, R = 1, I = 1;
};

Grouped group_reduced(const Tensor& x, const std::vector<int>& dims) {
    Grouped g;
    bool consecutive =
        x.is_contiguous() && (dims.empty() || dims.back() - dims.front() + 1 == int(dims.size()));
    if (consecutive) {
        g.x = x;
        for (int d = 0; d < x.dim(); ++d) {
            if (!dims.empty() && d < dims.front())
                g.O *= x.shape()[d];
            else if (!dims.empty() && d > dims.back())
                g.I *= x.shape()[d];
            else
                g.R *= x.shape()[d];
        }
        if (dims.empty()) g.R = 1, g.O = x.numel();
        return g;
    }
    std::vector<int64_t> perm;
    for (int d = 0; d < x.dim(); ++d)
        if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
            perm.push_back(d);
            g.O *= x.shape()[d];
        }
    for (int d : dims) {
        perm.push_back(d);
        g.R *= x.shape()[d];
    }
    g.x = x.detach().permute(perm).contiguous();
    return g;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims_in, bool keepdim) {
    check_defined("sum", x);
    std::vector<int> dims = normalize_dims(dims_in, x.dim(), "sum");
    Shape out_shape = reduced_shape(x.shape(), dims, keepdim);
    Grouped g = group_reduced(x.detach(), dims);
    Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
    VG_DISPATCH(x.device(), sum_mid, g.x, g.O, g.R, g.I, y);
    Shape kept = reduced_shape(x.shape(), dims, true);
    return record("sum", y, {x},
                  [kept, xs = x.shape()](const std::vector<Tensor>& gr, const std::vector<bool>&) {
                      return std::vector<Tensor>{gr[0].reshape(kept).expand(xs)};
                  });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims_in, bool keepdim) {
    check_defined("mean", x);
    std::vector<int> dims = normalize_dims(dims_in, x.dim(), "mean");
    int64_t n = 1;
    for (int d : dims) n *= x.shape()[d];
    return mul_scalar(sum(x, dims_in, keepdim), n ? 1.0 / double(n) : 0.0);
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims_in, int64_t correction, bool keepdim) {
    check_defined("var", x);
    std::vector<int> dims = normalize_dims(dims_in, x.dim(), "var");
    int64_t n = 1;
    for (int d : dims) n *= x.shape()[d];
    if (n - correction <= 0)
        fail("var", "{} elements per group with correction {} leaves no degrees of freedom ({})", n,
             correction, x.desc());
    Tensor centered = x - mean(x, dims_in, true);
    return mul_scalar(sum(centered * centered, dims_in, keepdim), 1.0 / double(n - correction));
}

MaxResult max(const Tensor& x, int64_t dim, bool keepdim) {
    check_defined("max", x);
    int d = wrap_dim(dim, x.dim(), "max");
    if (x.dim() > 0 && x.shape()[d] == 0)
        fail("max", "reduction over an empty dim of {}", x.desc());
    std::vector<int> dims{d};
    if (x.dim() == 0) dims.clear();
    Shape out_shape = reduced_shape(x.shape(), dims, keepdim);
    Grouped g = group_reduced(x.detach(), dims);
    Tensor values = Tensor::empty(out_shape, x.dtype(), x.device());
    Tensor indices = Tensor::empty(out_shape, DType::I64, x.device());
    VG_DISPATCH(x.device(), max_mid, g.x, g.O, g.R, g.I, values, indices);
    Shape kept = reduced_shape(x.shape(), dims, true);
    int64_t R = x.dim() ? x.shape()[d] : 1;
    values = record(
        "max", values, {x},
        [kept, d, R, xs = x.shape(), idx = indices](const std::vector<Tensor>& gr,
                                                    const std::vector<bool>&) {
            // The gradient goes to the (first) maximum: dx = (arange == idx) ? g : 0.
            const Tensor& g = gr[0];
            Shape line = Shape::filled(xs.size(), 1);
            if (xs.size()) line[d] = R;
            Tensor pos = Tensor::arange(R, g.dtype(), g.device()).reshape(line);
            Tensor hit = eq(pos, idx.reshape(kept).to(g.dtype()));
            Tensor zero = Tensor::zeros({}, g.dtype(), g.device());
            return std::vector<Tensor>{where(hit, g.reshape(kept), zero).expand(xs).contiguous()};
        });
    return {values, indices};
}

Tensor max(const Tensor& x) { return max(x.reshape({-1}), 0).values; }

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
    return max(x.detach(), dim, keepdim).indices;
}

}  // namespace vg
