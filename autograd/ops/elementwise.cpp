// Elementwise ops: unary() and binary() dispatch, record and reduce broadcast gradients with
// sum_to; every named op is a one-liner over them.
#include "autograd/ops.h"
#include "autograd/record.h"
#include "core/dispatch.h"

namespace vg {

namespace {
void check_float(const char* op, const Tensor& t) {
    if (!is_floating(t.dtype())) fail(op, "expected a float32 or float64 tensor, got {}", t.desc());
}
}  // namespace

Tensor unary(UnaryOp op, const Tensor& x, UnaryParams p) {
    const char* name = op_name(op).data();
    check_defined(name, x);
    check_float(name, x);
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    VG_DISPATCH(x.device(), unary_fwd, op, p, x, y);
    return record(name, y, {x},
                  [op, p, x = x.detach(), y = y.detach()](const std::vector<Tensor>& g,
                                                          const std::vector<bool>&) {
                      Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
                      VG_DISPATCH(x.device(), unary_bwd, op, p, x, y, g[0], dx);
                      return std::vector<Tensor>{dx};
                  });
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
    if (g.shape() == shape) return g;
    int lead = g.dim() - shape.size();
    if (lead < 0) fail("sum_to", "cannot reduce {} to the larger shape {}", g.desc(), shape.str());
    std::vector<int64_t> dims;
    for (int d = 0; d < g.dim(); ++d)
        if (d < lead || (shape[d - lead] == 1 && g.shape()[d] != 1)) dims.push_back(d);
    Tensor s = dims.empty() ? g : sum(g, dims, /*keepdim=*/true);
    return s.reshape(shape);
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
    const char* name = op_name(op).data();
    check_defined(name, a, "first input");
    check_defined(name, b, "second input");
    check_same_device(name, {&a, &b});
    check_same_dtype(name, {&a, &b});
    check_float(name, a);
    Shape out = broadcast_shapes(a.shape(), b.shape(), name);
    Tensor ae = a.detach().expand(out), be = b.detach().expand(out);
    Tensor y = Tensor::empty(out, a.dtype(), a.device());
    VG_DISPATCH(a.device(), binary_fwd, op, ae, be, y);
    if (!visit_binary(op, []<typename F>() { return F::differentiable; })) return y;
    return record(name, y, {a, b},
                  [op, ae, be, sa = a.shape(), sb = b.shape()](const std::vector<Tensor>& g,
                                                               const std::vector<bool>& needs) {
                      Tensor da, db;
                      if (op == BinaryOp::Add || op == BinaryOp::Sub) {
                          if (needs[0]) da = sum_to(g[0], sa);
                          if (needs[1]) db = sum_to(op == BinaryOp::Add ? g[0] : neg(g[0]), sb);
                          return std::vector<Tensor>{da, db};
                      }
                      if (needs[0]) da = Tensor::empty(g[0].shape(), g[0].dtype(), g[0].device());
                      if (needs[1]) db = Tensor::empty(g[0].shape(), g[0].dtype(), g[0].device());
                      VG_DISPATCH(g[0].device(), binary_bwd, op, ae, be, g[0], da, db);
                      return std::vector<Tensor>{da.defined() ? sum_to(da, sa) : da,
                                                 db.defined() ? sum_to(db, sb) : db};
                  });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    check_defined("where", cond, "condition");
    check_same_device("where", {&cond, &a, &b});
    check_same_dtype("where", {&a, &b});
    check_float("where", a);
    Shape out =
        broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
    Tensor ce = cond.detach().expand(out);
    Tensor y = Tensor::empty(out, a.dtype(), a.device());
    VG_DISPATCH(a.device(), where_fwd, ce, a.detach().expand(out), b.detach().expand(out), y);
    return record("where", y, {a, b},
                  [ce, sa = a.shape(), sb = b.shape()](const std::vector<Tensor>& g,
                                                       const std::vector<bool>& needs) {
                      Tensor zero = Tensor::zeros({}, g[0].dtype(), g[0].device());
                      Tensor da, db;
                      if (needs[0]) da = sum_to(where(ce, g[0], zero), sa);
                      if (needs[1]) db = sum_to(where(ce, zero, g[0]), sb);
                      return std::vector<Tensor>{da, db};
                  });
}

Tensor neg(const Tensor& x) { return unary(UnaryOp::Neg, x); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::Exp, x); }
Tensor log(const Tensor& x) { return unary(UnaryOp::Log, x); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::Sqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary(UnaryOp::Rsqrt, x); }
Tensor abs(const Tensor& x) { return unary(UnaryOp::Abs, x); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::Tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::Sigmoid, x); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::Relu, x); }
// The derivative mask (strictly inside (0, 6)) is the same whether read from x or from y, so
// relu6 saves only its output and the input (typically a BatchNorm output) is freed after use.
Tensor relu6(const Tensor& x) {
    check_defined("relu6", x);
    check_float("relu6", x);
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    VG_DISPATCH(x.device(), unary_fwd, UnaryOp::Relu6, UnaryParams{}, x, y);
    return record(
        "relu6", y, {x}, [y = y.detach()](const std::vector<Tensor>& g, const std::vector<bool>&) {
            Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
            VG_DISPATCH(y.device(), unary_bwd, UnaryOp::Relu6, UnaryParams{}, y, y, g[0], dx);
            return std::vector<Tensor>{dx};
        });
}
Tensor gelu(const Tensor& x) { return unary(UnaryOp::Gelu, x); }
Tensor pow(const Tensor& x, double e) { return unary(UnaryOp::PowScalar, x, {e, 0}); }
Tensor clamp(const Tensor& x, double lo, double hi) {
    if (lo > hi) fail("clamp", "lower bound {} exceeds upper bound {}", lo, hi);
    return unary(UnaryOp::Clamp, x, {lo, hi});
}
Tensor add_scalar(const Tensor& x, double s) { return unary(UnaryOp::AddScalar, x, {s, 0}); }
Tensor mul_scalar(const Tensor& x, double s) { return unary(UnaryOp::MulScalar, x, {s, 0}); }

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Div, a, b); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Pow, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Minimum, a, b); }
Tensor eq(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Ge, a, b); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double s) { return add_scalar(a, s); }
Tensor operator-(const Tensor& a, double s) { return add_scalar(a, -s); }
Tensor operator*(const Tensor& a, double s) { return mul_scalar(a, s); }
Tensor operator/(const Tensor& a, double s) { return mul_scalar(a, 1.0 / s); }
Tensor operator+(double s, const Tensor& a) { return add_scalar(a, s); }
Tensor operator-(double s, const Tensor& a) { return add_scalar(neg(a), s); }
Tensor operator*(double s, const Tensor& a) { return mul_scalar(a, s); }

// In-place updates (optimisers, gradient accumulation): never recorded.
Tensor& Tensor::add_(const Tensor& other, double alpha) {
    check_inplace(*this, "Tensor::add_");
    check_same_device("Tensor::add_", {this, &other});
    check_same_dtype("Tensor::add_", {this, &other});
    Shape b = broadcast_shapes(shape(), other.shape(), "Tensor::add_");
    if (b != shape())
        fail("Tensor::add_", "{} does not broadcast to the destination {}", other.desc(), desc());
    Tensor o = other.detach().expand(shape());
    if (alpha != 1.0) o = mul_scalar(o, alpha);
    if (is_contiguous()) {
        Tensor self = detach();
        VG_DISPATCH(device(), binary_fwd, BinaryOp::Add, self, o, self);
    } else {
        copy_(add(detach(), o));
    }
    return *this;
}

Tensor& Tensor::mul_(double value) {
    check_inplace(*this, "Tensor::mul_");
    Tensor self = detach();
    VG_DISPATCH(device(), unary_fwd, UnaryOp::MulScalar, UnaryParams{value, 0}, self, self);
    return *this;
}

}  // namespace vg
