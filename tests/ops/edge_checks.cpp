#include "tests/ops/edge_checks.h"

#include <cmath>
#include <limits>

#include "core/dispatch.h"
#include "tests/helpers.h"

namespace vg::test {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Every element of `got` within atol + rtol * |want|; a non-finite expectation must be met
// exactly (masked entries are -inf, never NaN or a large finite number).
void expect_values(const char* what, const Tensor& got, const std::vector<double>& want,
                   double atol, double rtol) {
    std::vector<double> g = got.cpu().to_vector();
    REQUIRE_MESSAGE(g.size() == want.size(), std::string(what), ": ", g.size(),
                    " values, expected ", want.size());
    for (size_t i = 0; i < g.size(); ++i) {
        bool ok = std::isfinite(want[i])
                      ? std::abs(g[i] - want[i]) <= atol + rtol * std::abs(want[i])
                      : g[i] == want[i];
        if (!ok) {
            FAIL_CHECK(std::string(what), " element ", i, ": got ", g[i], ", expected ", want[i]);
            return;
        }
    }
}

// Row-wise softmax and log_softmax of host values in double: the independent formula.
struct RowSoftmax {
    std::vector<double> p, logp;
};
RowSoftmax softmax_rows(const std::vector<double>& x, int64_t C) {
    RowSoftmax r;
    for (size_t b = 0; b < x.size(); b += size_t(C)) {
        double mx = -kInf;
        for (int64_t c = 0; c < C; ++c) mx = std::max(mx, x[b + size_t(c)]);
        double z = 0;
        for (int64_t c = 0; c < C; ++c) z += mx == -kInf ? 0.0 : std::exp(x[b + size_t(c)] - mx);
        for (int64_t c = 0; c < C; ++c) {
            double v = x[b + size_t(c)];
            bool masked = v == -kInf;
            r.p.push_back(masked ? 0.0 : std::exp(v - mx) / z);
            r.logp.push_back(masked ? -kInf : (v - mx) - std::log(z));
        }
    }
    return r;
}

// A leaf on `d` holding `v`.
Tensor leaf_on(Device d, DType dt, const std::vector<double>& v, const Shape& s) {
    return Tensor::from_vector(v, s, dt, d).requires_grad_();
}

}  // namespace

void check_large_logits(Device d, DType dt) {
    INFO("logits of magnitude 1e4 on ", d.str(), ", ", dtype_name(dt));
    // Exact in float32. A float32 log_softmax formed as x - (max + log(sum)) rounds the log-sum
    // to the spacing of 1e4 (up to 5e-4 off); (x - max) - log(sum) stays within float rounding.
    const std::vector<double> v = {1e4,  1e4 - 1,  1e4 - 3,    -1e4,
                                   -1e4, -1e4 + 2, -1e4 - 0.5, -1e4 + 0.25};
    RowSoftmax want = softmax_rows(v, 4);
    double tol = dt == DType::F32 ? 2e-6 : 1e-13;
    Tensor x = Tensor::from_vector(v, {2, 4}, dt, d);
    expect_values("softmax", softmax(x), want.p, tol, tol);
    expect_values("log_softmax", log_softmax(x), want.logp, tol, tol);
}

void check_masked_rows(Device d, DType dt) {
    INFO("fully and partly masked rows on ", d.str(), ", ", dtype_name(dt));
    const std::vector<double> v = {-kInf, -kInf, -kInf, -kInf,  // fully masked
                                   0.0,   -kInf, 1.0,   -kInf,  // partly masked
                                   -kInf, -kInf, -kInf, 5.0};   // one key left
    const std::vector<double> dy = {0.5,  -1.0, 2.0,  0.25, 1.5, -0.5,
                                    0.75, 1.0,  -2.0, 0.5,  1.0, 3.0};
    RowSoftmax want = softmax_rows(v, 4);
    // softmax: dx = p (dy - <dy, p>); log_softmax: dx = dy - p sum(dy); p = 0 where masked.
    std::vector<double> dx_soft(v.size()), dx_log(v.size());
    for (size_t r = 0; r < 3; ++r) {
        double dot = 0, total = 0;
        for (size_t c = 0; c < 4; ++c) {
            dot += dy[4 * r + c] * want.p[4 * r + c];
            total += dy[4 * r + c];
        }
        for (size_t c = 0; c < 4; ++c) {
            size_t i = 4 * r + c;
            dx_soft[i] = want.p[i] * (dy[i] - dot);
            dx_log[i] = dy[i] - want.p[i] * total;
        }
    }
    double tol = dt == DType::F32 ? 1e-6 : 1e-14;
    for (bool log : {false, true}) {
        Tensor x = leaf_on(d, dt, v, {3, 4});
        Tensor y = log ? log_softmax(x) : softmax(x);
        expect_values(log ? "log_softmax" : "softmax", y, log ? want.logp : want.p, tol, tol);
        y.backward(Tensor::from_vector(dy, {3, 4}, dt, d));
        expect_values(log ? "log_softmax gradient" : "softmax gradient", x.grad(),
                      log ? dx_log : dx_soft, tol, tol);
    }
}

void check_nan_rows(Device d, DType dt) {
    INFO("rows holding NaN on ", d.str(), ", ", dtype_name(dt));
    // A max reduction that skips NaNs sees -inf in rows 0 and 1: they must not pass for fully
    // masked rows (zeros, log -inf), which would turn NaN logits into a finite or infinite loss.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> v = {nan, nan,   nan, nan,    // all NaN
                                   nan, -kInf, nan, -kInf,  // NaN among masked entries
                                   0.0, nan,   1.0, 2.0};   // NaN among finite logits
    for (bool log : {false, true}) {
        std::vector<double> y = (log ? log_softmax(Tensor::from_vector(v, {3, 4}, dt, d))
                                     : softmax(Tensor::from_vector(v, {3, 4}, dt, d)))
                                    .cpu()
                                    .to(DType::F64)
                                    .to_vector();
        for (size_t i = 0; i < y.size(); ++i)
            CHECK_MESSAGE(std::isnan(y[i]), (log ? "log_softmax" : "softmax"), " element ", i,
                          " is ", y[i], ", not NaN");
    }
}

void check_long_rows(Device d, DType dt) {
    INFO("rows of 5000 columns on ", d.str(), ", ", dtype_name(dt));
    const int64_t R = 3, C = 5000;
    Tensor x = uniform({R, C}, -3, 3, dt, 17);
    RowSoftmax want = softmax_rows(x.to_vector(), C);
    // Float32 sums of 5000 terms: a few 1e-6 relative.
    double rtol = dt == DType::F32 ? 5e-5 : 1e-12, atol = dt == DType::F32 ? 5e-5 : 1e-12;
    expect_values("softmax", softmax(x.to(d)), want.p, 0, rtol);
    expect_values("log_softmax", log_softmax(x.to(d)), want.logp, atol, rtol);
}

void check_zero_extent_ops(Device d, DType dt) {
    INFO("tensors with a zero extent on ", d.str(), ", ", dtype_name(dt));
    auto zeros = [](int64_t n) { return std::vector<double>(size_t(n), 0.0); };
    // K = 0: an empty sum, so exact zeros; the gradients are empty.
    Tensor a = leaf_on(d, dt, {}, {2, 0}), b = leaf_on(d, dt, {}, {0, 3});
    Tensor y = matmul(a, b);
    CHECK(y.shape() == Shape{2, 3});
    expect_values("[2, 0] @ [0, 3]", y, zeros(6), 0, 0);
    y.backward(Tensor::ones({2, 3}, dt, d));
    CHECK(a.grad().shape() == Shape{2, 0});
    CHECK(b.grad().shape() == Shape{0, 3});
    Tensor ab = leaf_on(d, dt, {}, {4, 2, 0}), bb = leaf_on(d, dt, {}, {4, 0, 3});
    expect_values("batched K = 0", matmul(ab, bb), zeros(24), 0, 0);
    // M = 0: an empty output, and b's gradient a^T @ dy is itself a K = 0 product.
    Tensor a0 = leaf_on(d, dt, {}, {0, 4}),
           b0 = leaf_on(d, dt, std::vector<double>(12, 1.0), {4, 3});
    Tensor y0 = matmul(a0, b0);
    CHECK(y0.shape() == Shape{0, 3});
    sum(y0).backward();
    expect_values("gradient of b in [0, 4] @ [4, 3]", b0.grad(), zeros(12), 0, 0);
    // linear with no input features: the bias alone.
    Tensor xl = Tensor::empty({5, 0}, dt, d), wl = Tensor::empty({3, 0}, dt, d);
    Tensor bl = Tensor::from_vector({1, -2, 3}, {3}, dt, d);
    std::vector<double> bias5;
    for (int i = 0; i < 5; ++i) bias5.insert(bias5.end(), {1, -2, 3});
    expect_values("linear with K = 0", linear(xl, wl, bl), bias5, 0, 0);

    // Sums over R = 0 rows are zeros; a sum over an empty tensor is 0.
    Tensor e = leaf_on(d, dt, {}, {3, 0});
    Tensor s1 = sum(e, {1});
    expect_values("sum of [3, 0] over dim 1", s1, zeros(3), 0, 0);
    sum(s1).backward();
    CHECK(e.grad().shape() == Shape{3, 0});
    expect_values("sum of [0, 3] over dim 0", sum(Tensor::empty({0, 3}, dt, d), {0}), zeros(3), 0,
                  0);
    expect_values("sum of [2, 0, 5] over dim 1", sum(Tensor::empty({2, 0, 5}, dt, d), {1}),
                  zeros(10), 0, 0);
    expect_values("sum of [0]", sum(Tensor::empty({0}, dt, d)), {0.0}, 0, 0);

    // Elementwise, broadcast and its adjoint (b's gradient sums zero rows), softmax, layer_norm,
    // cat, device round trips.
    Tensor ea = leaf_on(d, dt, {}, {0, 3}), eb = leaf_on(d, dt, {1, 2, 3}, {3});
    Tensor ey = gelu(add(ea, eb));
    CHECK(ey.shape() == Shape{0, 3});
    sum(ey).backward();
    expect_values("gradient of a broadcast operand over 0 rows", eb.grad(), zeros(3), 0, 0);
    CHECK(softmax(Tensor::empty({0, 5}, dt, d)).shape() == Shape{0, 5});
    CHECK(log_softmax(Tensor::empty({5, 0}, dt, d)).shape() == Shape{5, 0});
    Tensor lx = leaf_on(d, dt, {}, {0, 8}), lw = leaf_on(d, dt, zeros(8), {8}),
           lb = leaf_on(d, dt, zeros(8), {8});
    Tensor ly = layer_norm(lx, lw, lb);
    CHECK(ly.shape() == Shape{0, 8});
    sum(ly).backward();
    expect_values("layer_norm weight gradient over 0 rows", lw.grad(), zeros(8), 0, 0);
    expect_values("layer_norm bias gradient over 0 rows", lb.grad(), zeros(8), 0, 0);
    Tensor full = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, dt, d);
    expect_values("cat with an empty piece", cat({full, Tensor::empty({0, 3}, dt, d)}, 0),
                  {1, 2, 3, 4, 5, 6}, 0, 0);
    CHECK(Tensor::empty({0, 7}, dt, d).cpu().to(d).shape() == Shape{0, 7});
    // No maximum of nothing: an error naming the op, not a crash or a made-up value.
    CHECK_THROWS_WITH_AS(max(Tensor::empty({3, 0}, dt, d), 1), doctest::Contains("max"), vg::Error);
}

void check_gated_mix_without_keys(Device d, DType dt) {
    INFO("gated_mix with M = 0 on ", d.str(), ", ", dtype_name(dt));
    const int64_t B = 2, H = 2, N = 3, M = 0;
    Tensor c = Tensor::empty({B, H, N, M}, dt, d), p = Tensor::empty({H, N, M}, dt, d);
    Tensor g = Tensor::from_vector({0.25, 0.75}, {H}, dt, d);
    // The kernel itself: every row sum is written (0), none left as it was (NaN here).
    Tensor y = Tensor::empty({B, H, N, M}, dt, d);
    Tensor s = Tensor::full({B, H, N}, NAN, dt, d);
    VG_DISPATCH(d, gated_mix_fwd, c, p, g, true, B, H, N, M, y, s);
    expect_values("row sums of empty rows", s, std::vector<double>(size_t(B * H * N), 0.0), 0, 0);
    // The op: an empty output, and a zero gradient for the gate.
    Tensor gl = g.detach().requires_grad_();
    Tensor out = gated_mix(c, p, gl, true);
    CHECK(out.shape() == Shape{B, H, N, M});
    sum(out).backward();
    expect_values("gate gradient", gl.grad(), {0.0, 0.0}, 0, 0);
}

}  // namespace vg::test
