// View ops (no data copied) and copies (contiguous, clone), each with its backward.
#include <numeric>

#include "autograd/ops.h"
#include "autograd/record.h"
#include "core/dispatch.h"

namespace vg {

namespace {

// Resolves one -1 extent and checks the element count.
Shape infer_shape(const Shape& req, int64_t numel, const char* op, const Tensor& x) {
    Shape s = req;
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < s.size(); ++i) {
        if (s[i] == -1) {
            if (infer >= 0) fail(op, "only one dimension can be -1 in {}", req.str());
            infer = i;
        } else if (s[i] < 0) {
            fail(op, "invalid extent {} in shape {}", s[i], req.str());
        } else {
            known *= s[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || numel % known != 0)
            fail(op, "cannot reshape {} into {}", x.desc(), req.str());
        s[infer] = numel / known;
    }
    if (s.numel() != numel)
        fail(op, "cannot reshape {} ({} elements) into {} ({} elements)", x.desc(), numel, s.str(),
             s.numel());
    return s;
}

// Strides that let `x` be viewed as `shape` without a copy, if any (PyTorch's computeStride).
std::optional<Shape> view_strides(const Tensor& x, const Shape& shape) {
    const Shape& os = x.shape();
    const Shape& ost = x.strides();
    Shape ns = Shape::filled(shape.size(), 1);
    if (x.numel() == 0 || x.dim() == 0 || x.is_contiguous()) return contiguous_strides(shape);
    int view_d = shape.size() - 1;
    int64_t chunk_base_stride = os.size() ? ost[os.size() - 1] : 1;
    int64_t tensor_numel = 1, view_numel = 1;
    for (int td = os.size() - 1; td >= 0; --td) {
        tensor_numel *= os[td];
        if (td == 0 || (os[td - 1] != 1 && ost[td - 1] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
                ns[view_d] = view_numel * chunk_base_stride;
                view_numel *= shape[view_d];
                --view_d;
            }
            if (view_numel != tensor_numel) return std::nullopt;
            if (td > 0) {
                chunk_base_stride = ost[td - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    if (view_d != -1) return std::nullopt;
    return ns;
}

Tensor shape_backward_view(const char* name, const Tensor& x, Tensor out) {
    return record(name, out, {x},
                  [s = x.shape()](const std::vector<Tensor>& g, const std::vector<bool>&) {
                      return std::vector<Tensor>{g[0].reshape(s)};
                  });
}

}  // namespace

Tensor Tensor::view(const Shape& req) const {
    Shape s = infer_shape(req, numel(), "view", *this);
    auto st = view_strides(*this, s);
    if (!st)
        fail("view", "{} cannot be viewed as {} without a copy (its strides are {}); use reshape()",
             desc(), s.str(), strides().str());
    return shape_backward_view("view", *this, make_view(*this, s, *st, offset()));
}

Tensor Tensor::reshape(const Shape& req) const {
    Shape s = infer_shape(req, numel(), "reshape", *this);
    if (s == shape()) return *this;
    if (auto st = view_strides(*this, s))
        return shape_backward_view("reshape", *this, make_view(*this, s, *st, offset()));
    return contiguous().view(s);
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
    if (dim() == 0) return reshape({1});
    int s = wrap_dim(start, dim(), "flatten"), e = wrap_dim(end, dim(), "flatten");
    if (s > e) fail("flatten", "start dim {} is after end dim {} for {}", start, end, desc());
    Shape out;
    int64_t merged = 1;
    for (int d = 0; d < dim(); ++d) {
        if (d < s || d > e)
            out.push_back(shape()[d]);
        else {
            merged *= shape()[d];
            if (d == e) out.push_back(merged);
        }
    }
    return reshape(out);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
    if (int(dims.size()) != dim()) fail("permute", "{} dims given for {}", dims.size(), desc());
    Shape s, st;
    std::vector<int64_t> inverse(dims.size(), -1);
    for (size_t i = 0; i < dims.size(); ++i) {
        int d = wrap_dim(dims[i], dim(), "permute");
        if (inverse[size_t(d)] != -1) fail("permute", "dim {} repeated in the permutation", d);
        inverse[size_t(d)] = int64_t(i);
        s.push_back(shape()[d]);
        st.push_back(strides()[d]);
    }
    return record("permute", make_view(*this, s, st, offset()), {*this},
                  [inverse](const std::vector<Tensor>& g, const std::vector<bool>&) {
                      return std::vector<Tensor>{g[0].permute(inverse)};
                  });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
    int a = wrap_dim(d0, dim(), "transpose"), b = wrap_dim(d1, dim(), "transpose");
    std::vector<int64_t> p(static_cast<size_t>(dim()));
    std::iota(p.begin(), p.end(), 0);
    std::swap(p[size_t(a)], p[size_t(b)]);
    return permute(p);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
    int dd = wrap_dim(d, dim(), "narrow");
    int64_t n = shape()[dd];
    if (start < 0) start += n;
    if (start < 0 || length < 0 || start + length > n)
        fail("narrow", "range [{}, {}) out of bounds for dim {} of {}", start, start + length, dd,
             desc());
    Shape s = shape();
    s[dd] = length;
    Tensor out = make_view(*this, s, strides(), offset() + start * strides()[dd]);
    return record(
        "narrow", out, {*this},
        [dd, start, length, xs = shape()](const std::vector<Tensor>& g, const std::vector<bool>&) {
            Tensor dx = Tensor::zeros(xs, g[0].dtype(), g[0].device());
            dx.narrow(dd, start, length).copy_(g[0]);
            return std::vector<Tensor>{dx};
        });
}

Tensor Tensor::select(int64_t d, int64_t index) const {
    int dd = wrap_dim(d, dim(), "select");
    if (index < -shape()[dd] || index >= shape()[dd])
        fail("select", "index {} out of range for dim {} of {}", index, dd, desc());
    return narrow(dd, index < 0 ? index + shape()[dd] : index, 1).squeeze(dd);
}

Tensor Tensor::expand(const Shape& req) const {
    if (req.size() < dim()) fail("expand", "target {} has fewer dims than {}", req.str(), desc());
    int lead = req.size() - dim();
    Shape s = req, st = Shape::filled(req.size(), 0);
    for (int d = 0; d < req.size(); ++d) {
        if (d < lead) {
            if (req[d] < 0)
                fail("expand", "-1 is not allowed for a new leading dim in {}", req.str());
            continue;
        }
        int64_t have = shape()[d - lead];
        if (req[d] == -1 || req[d] == have) {
            s[d] = have;
            st[d] = strides()[d - lead];
        } else if (have != 1) {
            fail("expand", "cannot expand {} to {}: dim {} has size {} (only size-1 dims expand)",
                 desc(), req.str(), d, have);
        }
    }
    if (s == shape()) return *this;
    return record("expand", make_view(*this, s, st, offset()), {*this},
                  [xs = shape()](const std::vector<Tensor>& g, const std::vector<bool>&) {
                      return std::vector<Tensor>{sum_to(g[0], xs)};
                  });
}

Tensor Tensor::squeeze(int64_t d) const {
    int dd = wrap_dim(d, dim(), "squeeze");
    if (dim() == 0 || shape()[dd] != 1) return *this;
    Shape s = shape(), st = strides();
    s.erase(dd);
    st.erase(dd);
    return shape_backward_view("squeeze", *this, make_view(*this, s, st, offset()));
}

Tensor Tensor::unsqueeze(int64_t d) const {
    int dd = wrap_dim(d, dim() + 1, "unsqueeze");
    Shape s = shape(), st = strides();
    int64_t stride = dd < dim() ? strides()[dd] * shape()[dd] : 1;
    s.insert(dd, 1);
    st.insert(dd, stride);
    return shape_backward_view("unsqueeze", *this, make_view(*this, s, st, offset()));
}

Tensor Tensor::clone() const {
    Tensor y = Tensor::empty(shape(), dtype(), device());
    VG_DISPATCH(device(), copy, *this, y);
    return record("clone", y, {*this}, [](const std::vector<Tensor>& g, const std::vector<bool>&) {
        return std::vector<Tensor>{g[0]};
    });
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

}  // namespace vg
