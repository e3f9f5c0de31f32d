// matmul (NumPy semantics) and linear: every operand reaches the batched GEMM kernel as a
// [Bt, rows, cols] view of its own memory (transposes are strides, broadcast batches stride 0),
// and is copied only when no such view exists.
#include <optional>

#include "autograd/ops.h"
#include "autograd/record.h"
#include "core/dispatch.h"
#include "core/mat_layout.h"

namespace vg {

namespace {

// Stride of dims [begin, end) merged into one, when they can be; size-1 dims never block it.
std::optional<int64_t> merged_stride(const Tensor& t, int begin, int end) {
    std::optional<int64_t> inner;
    int64_t expected = 0;
    for (int d = end - 1; d >= begin; --d) {
        int64_t n = t.shape()[d], s = t.strides()[d];
        if (n == 1) continue;
        if (!inner)
            inner = s;
        else if (s != expected)
            return std::nullopt;
        expected = s * n;
    }
    return inner.value_or(0);
}

int64_t extent(const Tensor& t, int begin, int end) {
    int64_t n = 1;
    for (int d = begin; d < end; ++d) n *= t.shape()[d];
    return n;
}

// t [..., C] (dim >= 2) as a GEMM-ready [Bt, R, C]: dims [0, split) become Bt and
// [split, dim-1) become R. A view when the strides allow it, else a contiguous copy.
Tensor as_batched(const Tensor& t, int split) {
    int n = t.dim();
    int64_t Bt = extent(t, 0, split), R = extent(t, split, n - 1), C = t.shape()[n - 1];
    auto sb = merged_stride(t, 0, split), sr = merged_stride(t, split, n - 1);
    int64_t sc = t.strides()[n - 1];
    if (sb && sr && mat_layout(R, C, *sr, sc).ok)
        return make_view(t, {Bt, R, C}, {*sb, *sr, sc}, t.offset());
    Tensor c = t.contiguous();
    return make_view(c, {Bt, R, C}, {R * C, C, 1}, c.offset());
}

// The transpose of the last two dims of a [Bt, R, C] view (still GEMM-ready).
Tensor t3(const Tensor& t) {
    const Shape& s = t.shape();
    const Shape& st = t.strides();
    return make_view(t, {s[0], s[2], s[1]}, {st[0], st[2], st[1]}, t.offset());
}

// c [Bt, M, N] = alpha a [Bt, M, K] @ b [Bt, K, N].
Tensor bmm(const Tensor& a, const Tensor& b, double alpha = 1.0) {
    Tensor c = Tensor::empty({a.shape()[0], a.shape()[1], b.shape()[2]}, a.dtype(), a.device());
    VG_DISPATCH(a.device(), matmul, a, b, c, alpha, 0.0);
    return c;
}

void check_float_pair(const char* op, const Tensor& a, const Tensor& b) {
    check_same_device(op, {&a, &b});
    check_same_dtype(op, {&a, &b});
    if (!is_floating(a.dtype())) fail(op, "expected float32 or float64 tensors, got {}", a.desc());
}

Shape concat(const Shape& lead, std::initializer_list<int64_t> tail) {
    Shape s = lead;
    for (int64_t e : tail) s.push_back(e);
    return s;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, double alpha) {
    check_defined("matmul", a, "first input");
    check_defined("matmul", b, "second input");
    check_float_pair("matmul", a, b);
    if (a.dim() == 0 || b.dim() == 0)
        fail("matmul", "both operands need at least 1 dim, got {} and {}", a.desc(), b.desc());
    // 1-D operands: a [K] is a row [1, K], b [K] a column [K, 1]; the unit dim is dropped after.
    Tensor ap = a.dim() == 1 ? a.detach().unsqueeze(0) : a.detach();
    Tensor bp = b.dim() == 1 ? b.detach().unsqueeze(1) : b.detach();
    int na = ap.dim(), nb = bp.dim();
    int64_t M = ap.shape()[na - 2], K = ap.shape()[na - 1], N = bp.shape()[nb - 1];
    if (bp.shape()[nb - 2] != K)
        fail("matmul", "inner dims do not match: {} @ {} ({} vs {})", a.desc(), b.desc(), K,
             bp.shape()[nb - 2]);
    Shape ba(std::vector<int64_t>(ap.shape().begin(), ap.shape().end() - 2));
    Shape bb(std::vector<int64_t>(bp.shape().begin(), bp.shape().end() - 2));
    Shape batch;
    try {
        batch = broadcast_shapes(ba, bb, "matmul");
    } catch (const Error&) {
        fail("matmul", "batch dims of {} and {} cannot be broadcast together", a.desc(), b.desc());
    }
    // A batch of rows times one matrix ([B, T, C] @ [C, D]) is one GEMM over B*T rows, whose
    // weight gradient is then one GEMM too instead of B products summed afterwards.
    bool fold = nb == 2 && na > 2;
    Shape ex_a = fold ? ap.shape() : concat(batch, {M, K});
    Shape ex_b = fold ? bp.shape() : concat(batch, {K, N});
    Shape out_p = concat(batch, {M, N});
    Tensor A3 = fold ? as_batched(ap, 0)
                     : as_batched(ap.shape() == ex_a ? ap : ap.expand(ex_a), batch.size());
    Tensor B3 = fold ? as_batched(bp, 0)
                     : as_batched(bp.shape() == ex_b ? bp : bp.expand(ex_b), batch.size());
    int split = fold ? 0 : batch.size();

    Shape out_shape = out_p;
    if (b.dim() == 1) out_shape.erase(out_shape.size() - 1);                       // N
    if (a.dim() == 1) out_shape.erase(out_shape.size() - (b.dim() == 1 ? 1 : 2));  // M
    Tensor y = bmm(A3, B3, alpha).view(out_shape);
    return record("matmul", y, {a, b},
                  [A3, B3, alpha, split, out_p, ex_a, ex_b, sa_p = ap.shape(), sb_p = bp.shape(),
                   sa = a.shape(),
                   sb = b.shape()](const std::vector<Tensor>& g, const std::vector<bool>& needs) {
                      Tensor G3 = as_batched(g[0].reshape(out_p), split);
                      Tensor da, db;
                      // dA = alpha g @ B^T and dB = alpha A^T @ g, summed over the batch dims each
                      // broadcast.
                      if (needs[0])
                          da = sum_to(bmm(G3, t3(B3), alpha).view(ex_a), sa_p).reshape(sa);
                      if (needs[1])
                          db = sum_to(bmm(t3(A3), G3, alpha).view(ex_b), sb_p).reshape(sb);
                      return std::vector<Tensor>{da, db};
                  });
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
    check_defined("linear", x, "input");
    check_defined("linear", w, "weight");
    check_float_pair("linear", x, w);
    if (w.dim() != 2) fail("linear", "weight must be 2-D [out, in], got {}", w.desc());
    int64_t out = w.shape()[0], in = w.shape()[1];
    if (x.dim() == 0 || x.shape()[x.dim() - 1] != in)
        fail("linear", "input {} does not end in the weight's {} input features (weight {})",
             x.desc(), in, w.desc());
    if (b.defined()) {
        check_float_pair("linear", x, b);
        if (b.dim() != 1 || b.shape()[0] != out)
            fail("linear", "bias must be [{}] for weight {}, got {}", out, w.desc(), b.desc());
    }
    Tensor xd = x.dim() == 1 ? x.detach().unsqueeze(0) : x.detach();
    Shape lead(std::vector<int64_t>(x.shape().begin(), x.shape().end() - 1));
    Shape out_shape = concat(lead, {out});
    Tensor X3 = as_batched(xd, 0);                       // [1, R, in]
    Tensor W3 = as_batched(w.detach().unsqueeze(0), 1);  // [1, out, in]
    int64_t R = X3.shape()[1];
    Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
    Tensor Y3 = make_view(y, {1, R, out}, {R * out, out, 1}, 0);
    double beta = 0.0;
    if (b.defined()) {
        // The bias is written first and the product accumulated onto it: one pass over y.
        y.copy_(b.detach().expand(out_shape));
        beta = 1.0;
    }
    VG_DISPATCH(x.device(), matmul, X3, t3(W3), Y3, 1.0, beta);
    return record("linear", y, {x, w, b},
                  [X3, W3, out, sx = x.shape(), nlead = lead.size()](
                      const std::vector<Tensor>& g, const std::vector<bool>& needs) {
                      Tensor g2 = g[0].reshape({-1, out});
                      Tensor G3 = as_batched(g2, 0);  // [1, R, out]
                      Tensor dx, dw, db;
                      if (needs[0]) dx = bmm(G3, W3).view(sx);
                      if (needs[1]) dw = bmm(t3(G3), X3).view({W3.shape()[1], W3.shape()[2]});
                      if (needs[2]) db = nlead == 0 ? g[0].contiguous() : sum(g2, {0});
                      return std::vector<Tensor>{dx, dw, db};
                  });
}

}  // namespace vg
