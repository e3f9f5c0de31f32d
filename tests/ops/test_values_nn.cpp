// Spot values of matmul, linear, softmax, layer_norm, the losses and the AdamW kernel against
// formulas computed here, plus every error path of those ops.
#include <cmath>
#include <numeric>

#include "core/kernels.h"
#include "tests/helpers.h"

using namespace vg;
using namespace vg::test;

namespace {

// Naive [batch..., M, K] @ [batch..., K, N] over row-major value lists (batch already equal).
std::vector<double> naive_bmm(const std::vector<double>& a, const std::vector<double>& b,
                              int64_t Bt, int64_t M, int64_t K, int64_t N) {
    std::vector<double> c(size_t(Bt * M * N), 0.0);
    for (int64_t t = 0; t < Bt; ++t)
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
                double s = 0;
                for (int64_t k = 0; k < K; ++k)
                    s += a[size_t((t * M + i) * K + k)] * b[size_t((t * K + k) * N + j)];
                c[size_t((t * M + i) * N + j)] = s;
            }
    return c;
}

// The expected product of two tensors whose batch dims are already materialised by the test.
void check_matmul(const Tensor& a, const Tensor& b, double tol) {
    int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
    Shape batch = broadcast_shapes(
        Shape(std::vector<int64_t>(a.shape().begin(), a.shape().end() - 2)),
        Shape(std::vector<int64_t>(b.shape().begin(), b.shape().end() - 2)), "test");
    Shape sa = batch, sb = batch;
    sa.push_back(M), sa.push_back(K), sb.push_back(K), sb.push_back(N);
    std::vector<double> av = a.expand(sa).to_vector(), bv = b.expand(sb).to_vector();
    Tensor c = matmul(a, b);
    check_close(c.to_vector(), naive_bmm(av, bv, batch.numel(), M, K, N), tol);
}

}  // namespace

TEST_CASE("matmul matches a triple loop on contiguous, transposed and broadcast operands") {
    for (DType dt : {DType::F64, DType::F32}) {
        double tol = dt == DType::F64 ? 1e-12 : 1e-4;
        check_matmul(uniform({5, 7}, -1, 1, dt, 1), uniform({7, 3}, -1, 1, dt, 2), tol);
        // Transposed views of both operands (column-major maps inside the kernel).
        check_matmul(uniform({7, 5}, -1, 1, dt, 3).transpose(0, 1),
                     uniform({3, 7}, -1, 1, dt, 4).transpose(0, 1), tol);
        check_matmul(uniform({4, 6, 5}, -1, 1, dt, 5),
                     uniform({4, 3, 5}, -1, 1, dt, 6).transpose(1, 2), tol);
        // Batch broadcast: [2, 3, 4, 5] @ [3, 5, 6], [2, 1, 4, 5] @ [3, 5, 6] and a shared matrix.
        check_matmul(uniform({2, 3, 4, 5}, -1, 1, dt, 7), uniform({3, 5, 6}, -1, 1, dt, 8), tol);
        check_matmul(uniform({2, 1, 4, 5}, -1, 1, dt, 9), uniform({3, 5, 6}, -1, 1, dt, 10), tol);
        check_matmul(uniform({2, 3, 4, 5}, -1, 1, dt, 11), uniform({5, 6}, -1, 1, dt, 12), tol);
        check_matmul(uniform({4, 5}, -1, 1, dt, 13), uniform({3, 5, 6}, -1, 1, dt, 14), tol);
        // A narrowed (offset, strided-row) operand and an expanded one.
        check_matmul(uniform({6, 9}, -1, 1, dt, 15).narrow(1, 2, 5), uniform({5, 4}, -1, 1, dt, 16),
                     tol);
        check_matmul(uniform({1, 5}, -1, 1, dt, 17).expand({3, 5}), uniform({5, 4}, -1, 1, dt, 18),
                     tol);
        // Attention-like batch (split over the batch) and one large product (split by Eigen).
        check_matmul(uniform({16, 65, 48}, -1, 1, dt, 19),
                     uniform({16, 65, 48}, -1, 1, dt, 20).transpose(1, 2),
                     dt == DType::F64 ? 1e-11 : 1e-4);
        check_matmul(uniform({300, 200}, -1, 1, dt, 21), uniform({200, 150}, -1, 1, dt, 22),
                     dt == DType::F64 ? 1e-11 : 1e-3);
    }
}

TEST_CASE("matmul of 1-D operands follows NumPy") {
    Tensor v = Tensor::from_vector({1, 2, 3}, {3}, DType::F64);
    Tensor w = Tensor::from_vector({4, -5, 6}, {3}, DType::F64);
    Tensor dot = matmul(v, w);
    CHECK(dot.dim() == 0);
    CHECK(dot.item() == doctest::Approx(1 * 4 - 2 * 5 + 3 * 6));
    Tensor m = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2}, DType::F64);
    Tensor vm = matmul(v, m);  // [3] @ [3, 2] -> [2]
    CHECK(vm.shape() == Shape{2});
    CHECK(vm.to_vector() == std::vector<double>{1 + 6 + 15, 2 + 8 + 18});
    Tensor mv = matmul(m.transpose(0, 1), v);  // [2, 3] @ [3] -> [2]
    CHECK(mv.to_vector() == vm.to_vector());
    // alpha scales inside the GEMM: exactly the product of the integers above, times 0.5.
    CHECK(matmul(v, m, 0.5).to_vector() == std::vector<double>{11, 14});
    CHECK(matmul(v, uniform({4, 3, 2}, -1, 1)).shape() == Shape{4, 2});
    CHECK(matmul(uniform({4, 2, 3}, -1, 1), v).shape() == Shape{4, 2});
}

TEST_CASE("cpu::matmul applies alpha and beta") {
    Tensor a = uniform({2, 3, 4}, -1, 1, DType::F64, 1),
           b = uniform({2, 4, 5}, -1, 1, DType::F64, 2);
    Tensor c0 = uniform({2, 3, 5}, -1, 1, DType::F64, 3);
    Tensor c = c0.clone();
    cpu::matmul(a, b, c, 2.0, 0.5);
    std::vector<double> p = naive_bmm(a.to_vector(), b.to_vector(), 2, 3, 4, 5),
                        c0v = c0.to_vector();
    for (size_t i = 0; i < p.size(); ++i) p[i] = 2.0 * p[i] + 0.5 * c0v[i];
    check_close(c.to_vector(), p, 1e-12);
    // beta = 0 must not read c: NaN there stays out of the result.
    Tensor nan = Tensor::full({2, 3, 5}, std::nan(""), DType::F64);
    cpu::matmul(a, b, nan, 1.0, 0.0);
    check_close(nan.to_vector(), naive_bmm(a.to_vector(), b.to_vector(), 2, 3, 4, 5), 1e-12);
}

TEST_CASE("linear matches x @ w^T + b") {
    for (DType dt : {DType::F64, DType::F32}) {
        Tensor x = uniform({2, 3, 4}, -1, 1, dt, 1), w = uniform({5, 4}, -1, 1, dt, 2),
               b = uniform({5}, -1, 1, dt, 3);
        std::vector<double> xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector(), want(30);
        for (int r = 0; r < 6; ++r)
            for (int o = 0; o < 5; ++o) {
                double s = bv[size_t(o)];
                for (int i = 0; i < 4; ++i) s += xv[size_t(r * 4 + i)] * wv[size_t(o * 4 + i)];
                want[size_t(r * 5 + o)] = s;
            }
        Tensor y = linear(x, w, b);
        CHECK(y.shape() == Shape{2, 3, 5});
        check_close(y.to_vector(), want, dt == DType::F64 ? 1e-12 : 1e-5);
        // A transposed input (copied to rows) gives the same answer.
        Tensor xt = x.transpose(0, 1).contiguous().transpose(0, 1);
        check_close(linear(xt, w, b).to_vector(), want, dt == DType::F64 ? 1e-12 : 1e-5);
    }
}

TEST_CASE("linear weight and bias gradients sum over every leading dim") {
    Tensor x = uniform({2, 3, 4}, -1, 1, DType::F64, 1);
    Tensor w = uniform({5, 4}, -1, 1, DType::F64, 2).requires_grad_();
    Tensor b = uniform({5}, -1, 1, DType::F64, 3).requires_grad_();
    Tensor r = uniform({2, 3, 5}, -1, 1, DType::F64, 4);
    sum(linear(x, w, b) * r).backward();
    std::vector<double> xv = x.to_vector(), rv = r.to_vector(), dw(20, 0.0), db(5, 0.0);
    for (int row = 0; row < 6; ++row)
        for (int o = 0; o < 5; ++o) {
            db[size_t(o)] += rv[size_t(row * 5 + o)];
            for (int i = 0; i < 4; ++i)
                dw[size_t(o * 4 + i)] += rv[size_t(row * 5 + o)] * xv[size_t(row * 4 + i)];
        }
    check_close(w.grad().to_vector(), dw, 1e-12);
    check_close(b.grad().to_vector(), db, 1e-12);
}

TEST_CASE("gated_mix equals its composite form, forward and every gradient") {
    for (bool normalize : {true, false}) {
        Tensor c = softmax(uniform({2, 3, 4, 5}, -2, 2, DType::F64, 1), -1).requires_grad_();
        Tensor p = softmax(uniform({3, 4, 5}, -2, 2, DType::F64, 2), -1).requires_grad_();
        Tensor lam = uniform({3}, -2, 2, DType::F64, 3).requires_grad_();
        Tensor w = uniform({2, 3, 4, 5}, -1, 1, DType::F64, 4);  // weights the rows unevenly
        std::vector<std::vector<double>> fused, composite;
        for (int k = 0; k < 2; ++k) {
            Tensor g = sigmoid(lam);
            Tensor y;
            if (k == 0) {
                y = gated_mix(c, p, g, normalize);
            } else {
                Tensor g4 = g.reshape({1, 3, 1, 1});
                y = (1.0 - g4) * c + g4 * p.unsqueeze(0);
                if (normalize) y = y / sum(y, {-1}, true);
            }
            sum(y * w).backward();
            auto& out = k == 0 ? fused : composite;
            out = {y.to_vector(), c.grad().to_vector(), p.grad().to_vector(),
                   lam.grad().to_vector()};
            for (Tensor* t : {&c, &p, &lam}) t->set_grad(Tensor());
        }
        for (size_t i = 0; i < fused.size(); ++i) check_close(fused[i], composite[i], 1e-13);
    }
    Tensor c = Tensor::zeros({2, 3, 4, 4}), p = Tensor::zeros({3, 4, 4}), g = Tensor::zeros({3});
    CHECK_THROWS_WITH_AS(gated_mix(c, Tensor::zeros({1, 3, 4, 4}), g),
                         doctest::Contains("gated_mix: positional must be [3, 4, 4]"), Error);
    CHECK_THROWS_WITH_AS(gated_mix(c, p, Tensor::zeros({4})),
                         doctest::Contains("gated_mix: gate must be [3]"), Error);
    CHECK_THROWS_WITH_AS(gated_mix(c.reshape({6, 4, 4}), p, g),
                         doctest::Contains("gated_mix: content must be [B, H, N, M]"), Error);
    CHECK_THROWS_WITH_AS(gated_mix(c, p.to(DType::F64), g), doctest::Contains("gated_mix"), Error);
}

TEST_CASE("softmax and log_softmax match std::exp") {
    std::vector<double> v = {0.5, -1.0, 2.0, 0.0};
    double z = 0;
    for (double e : v) z += std::exp(e);
    for (DType dt : {DType::F64, DType::F32}) {
        double tol = dt == DType::F64 ? 1e-15 : 1e-6;
        Tensor x = Tensor::from_vector(v, {4}, dt);
        std::vector<double> p = softmax(x).to_vector(), lp = log_softmax(x).to_vector();
        for (size_t i = 0; i < v.size(); ++i) {
            CHECK(std::abs(p[i] - std::exp(v[i]) / z) <= tol);
            CHECK(std::abs(lp[i] - (v[i] - std::log(z))) <= 4 * tol);
        }
    }
    CHECK(softmax(Tensor::scalar(3.0, DType::F64)).item() == 1.0);
    CHECK(log_softmax(Tensor::scalar(3.0, DType::F64)).item() == 0.0);
    // Along dim 0 of a [2, 3]: each column normalised on its own.
    Tensor x = Tensor::from_vector({1, 2, 3, 4, 0, -3}, {2, 3}, DType::F64);
    std::vector<double> p = softmax(x, 0).to_vector();
    for (int c = 0; c < 3; ++c) {
        double a = x.at({0, c}), b = x.at({1, c});
        CHECK(p[size_t(c)] ==
              doctest::Approx(std::exp(a) / (std::exp(a) + std::exp(b))).epsilon(1e-14));
        CHECK(p[size_t(c)] + p[size_t(3 + c)] == doctest::Approx(1.0).epsilon(1e-14));
    }
}

TEST_CASE("softmax stays finite for large logits") {
    for (DType dt : {DType::F32, DType::F64}) {
        Tensor x = Tensor::from_vector({1000, 1001, 999, -1000}, {1, 4}, dt);
        std::vector<double> p = softmax(x).to_vector(), lp = log_softmax(x).to_vector();
        double z = std::exp(-1.0) + 1 + std::exp(-2.0);  // relative to the max, 1001
        CHECK(p[1] == doctest::Approx(1 / z).epsilon(1e-6));
        CHECK(lp[0] == doctest::Approx(-1 - std::log(z)).epsilon(1e-6));
        CHECK(p[3] == 0.0);
        for (double e : lp) CHECK(std::isfinite(e));
        Tensor ce = cross_entropy(x, Tensor::from_vector_i64({3}, {1}));
        CHECK(std::isfinite(ce.item()));
        CHECK(ce.item() == doctest::Approx(2001 + std::log(z)).epsilon(1e-6));
    }
}

TEST_CASE("layer_norm matches a hand loop, with and without affine") {
    for (DType dt : {DType::F64, DType::F32}) {
        double tol = dt == DType::F64 ? 1e-12 : 1e-5;
        const int R = 6, C = 7;
        const double eps = 1e-5;
        Tensor x = uniform({2, 3, C}, -3, 3, dt, 1), w = uniform({C}, 0.5, 1.5, dt, 2),
               b = uniform({C}, -1, 1, dt, 3);
        std::vector<double> xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector(), plain,
                            affine;
        for (int r = 0; r < R; ++r) {
            double mu = 0, var = 0;
            for (int c = 0; c < C; ++c) mu += xv[size_t(r * C + c)] / C;
            for (int c = 0; c < C; ++c)
                var += (xv[size_t(r * C + c)] - mu) * (xv[size_t(r * C + c)] - mu) / C;
            for (int c = 0; c < C; ++c) {
                double h = (xv[size_t(r * C + c)] - mu) / std::sqrt(var + eps);
                plain.push_back(h);
                affine.push_back(h * wv[size_t(c)] + bv[size_t(c)]);
            }
        }
        check_close(layer_norm(x, {}, {}, eps).to_vector(), plain, tol);
        check_close(layer_norm(x, w, b, eps).to_vector(), affine, tol);
        // A transposed input is normalised along its own last dim.
        Tensor xt = x.transpose(1, 2).contiguous().transpose(1, 2);
        check_close(layer_norm(xt, w, b, eps).to_vector(), affine, tol);
    }
}

TEST_CASE("layer_norm weight and bias gradients are the row sums") {
    // Enough rows for several partial-sum blocks in the kernel.
    const int R = 300, C = 5;
    Tensor x = uniform({R, C}, -2, 2, DType::F64, 1);
    Tensor w = uniform({C}, 0.5, 1.5, DType::F64, 2).requires_grad_();
    Tensor b = uniform({C}, -1, 1, DType::F64, 3).requires_grad_();
    Tensor r = uniform({R, C}, -1, 1, DType::F64, 4);
    sum(layer_norm(x, w, b, 1e-6) * r).backward();
    std::vector<double> xh = layer_norm(x, {}, {}, 1e-6).to_vector(), rv = r.to_vector();
    std::vector<double> dw(C, 0.0), db(C, 0.0);
    for (int i = 0; i < R; ++i)
        for (int c = 0; c < C; ++c) {
            dw[size_t(c)] += rv[size_t(i * C + c)] * xh[size_t(i * C + c)];
            db[size_t(c)] += rv[size_t(i * C + c)];
        }
    check_close(w.grad().to_vector(), dw, 1e-10);
    check_close(b.grad().to_vector(), db, 1e-10);
}

TEST_CASE("cross_entropy matches -log(softmax) with and without label smoothing") {
    const int B = 3, K = 4;
    Tensor logits = uniform({B, K}, -3, 3, DType::F64, 5);
    std::vector<int64_t> labels = {2, 0, 3};
    std::vector<double> lv = logits.to_vector();
    auto logp = [&](int i, int k) {
        double z = 0;
        for (int j = 0; j < K; ++j) z += std::exp(lv[size_t(i * K + j)]);
        return lv[size_t(i * K + k)] - std::log(z);
    };
    for (double s : {0.0, 0.1}) {
        double want = 0;
        for (int i = 0; i < B; ++i)
            for (int k = 0; k < K; ++k) {
                double t = (k == labels[size_t(i)] ? 1.0 - s : 0.0) + s / K;
                want -= t * logp(i, k) / B;
            }
        Tensor ce = cross_entropy(logits, Tensor::from_vector_i64(labels, {B}), s);
        CHECK(ce.dim() == 0);
        CHECK(ce.item() == doctest::Approx(want).epsilon(1e-13));
    }
    // Soft targets (a mixup of two labels per row).
    std::vector<double> tv = {0.7, 0, 0.3, 0, 0, 0.5, 0, 0.5, 0.25, 0.25, 0.25, 0.25};
    double want = 0;
    for (int i = 0; i < B; ++i)
        for (int k = 0; k < K; ++k) want -= tv[size_t(i * K + k)] * logp(i, k) / B;
    Tensor soft = cross_entropy_soft(logits, Tensor::from_vector(tv, {B, K}, DType::F64));
    CHECK(soft.item() == doctest::Approx(want).epsilon(1e-13));
}

TEST_CASE("adamw_step matches the PyTorch formula for one step") {
    const AdamWParams p{0.01, 0.9, 0.999, 1e-8, 0.05, 3};
    for (DType dt : {DType::F64, DType::F32}) {
        std::vector<double> p0 = {0.5, -1.0, 2.0, 0.0, 3.0}, g = {0.1, -0.2, 0.0, 1.5, -3.0},
                            m0 = {0.01, 0.02, -0.03, 0.0, 0.1}, v0 = {1e-4, 2e-4, 4e-6, 1e-3, 0.5};
        Tensor param = Tensor::from_vector(p0, {5}, dt), grad = Tensor::from_vector(g, {5}, dt);
        Tensor m = Tensor::from_vector(m0, {5}, dt), v = Tensor::from_vector(v0, {5}, dt);
        cpu::adamw_step(param, grad, m, v, p);
        double bc1 = 1 - std::pow(p.beta1, 3), bc2 = 1 - std::pow(p.beta2, 3);
        double tol = dt == DType::F64 ? 1e-14 : 1e-6;
        for (size_t i = 0; i < 5; ++i) {
            double mi = p.beta1 * m0[i] + (1 - p.beta1) * g[i];
            double vi = p.beta2 * v0[i] + (1 - p.beta2) * g[i] * g[i];
            double pi = p0[i] * (1 - p.lr * p.weight_decay);
            pi -= p.lr / bc1 * mi / (std::sqrt(vi) / std::sqrt(bc2) + p.eps);
            CHECK(std::abs(m.to_vector()[i] - mi) <= tol);
            CHECK(std::abs(v.to_vector()[i] - vi) <= tol);
            CHECK(std::abs(param.to_vector()[i] - pi) <= tol * std::max(1.0, std::abs(pi)));
        }
    }
}

TEST_CASE("nn op errors name the op and the shapes") {
    Tensor a = Tensor::zeros({3, 4}), b = Tensor::zeros({5, 6});
    CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("matmul: inner dims do not match"), Error);
    CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("[3, 4]"), Error);
    CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("[5, 6]"), Error);
    CHECK_THROWS_WITH_AS(matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 5})),
                         doctest::Contains("matmul: batch dims"), Error);
    CHECK_THROWS_WITH_AS(matmul(Tensor::scalar(1.0), a), doctest::Contains("matmul"), Error);
    CHECK_THROWS_WITH_AS(matmul(a, Tensor::zeros({4, 2}, DType::F64)), doctest::Contains("matmul"),
                         Error);
    Tensor ia = Tensor::from_vector_i64({1, 2, 3, 4}, {2, 2});
    CHECK_THROWS_WITH_AS(matmul(ia, ia), doctest::Contains("matmul"), Error);

    CHECK_THROWS_WITH_AS(linear(a, Tensor::zeros({5, 3})), doctest::Contains("linear"), Error);
    CHECK_THROWS_WITH_AS(linear(a, Tensor::zeros({5, 4}), Tensor::zeros({4})),
                         doctest::Contains("linear: bias must be [5]"), Error);
    CHECK_THROWS_WITH_AS(linear(a, Tensor::zeros({5, 4, 1})),
                         doctest::Contains("linear: weight must be 2-D"), Error);

    CHECK_THROWS_WITH_AS(softmax(a, 2), doctest::Contains("softmax"), Error);
    CHECK_THROWS_WITH_AS(log_softmax(ia, 1), doctest::Contains("log_softmax"), Error);

    CHECK_THROWS_WITH_AS(layer_norm(a, Tensor::ones({3}), {}),
                         doctest::Contains("layer_norm: weight must be [4]"), Error);
    CHECK_THROWS_WITH_AS(layer_norm(a, {}, Tensor::ones({4}, DType::F64)),
                         doctest::Contains("layer_norm"), Error);
    CHECK_THROWS_WITH_AS(layer_norm(Tensor::scalar(1.0), {}, {}), doctest::Contains("layer_norm"),
                         Error);
    CHECK_THROWS_WITH_AS(layer_norm(a, {}, {}, -1.0), doctest::Contains("layer_norm: eps"), Error);

    // The kernel itself refuses operands whose rows overlap (no unit stride to map).
    Tensor bad = make_view(Tensor::zeros({4}), {1, 3, 4}, {0, 0, 1}, 0);
    Tensor out = Tensor::empty({1, 3, 2});
    CHECK_THROWS_WITH_AS(cpu::matmul(bad, Tensor::zeros({1, 4, 2}), out),
                         doctest::Contains("matmul: operands need a unit stride"), Error);

    Tensor logits = Tensor::zeros({2, 3});
    CHECK_THROWS_WITH_AS(cross_entropy(logits, Tensor::from_vector_i64({0, 7}, {2})),
                         doctest::Contains("cross_entropy: label 7 at position 1"), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, Tensor::from_vector_i64({-1, 0}, {2})),
                         doctest::Contains("label -1"), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, Tensor::from_vector({0, 1}, {2})),
                         doctest::Contains("cross_entropy: labels must be int64"), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, Tensor::from_vector_i64({0, 1, 2}, {3})),
                         doctest::Contains("cross_entropy: labels must be [2]"), Error);
    CHECK_THROWS_WITH_AS(
        cross_entropy(Tensor::zeros({2, 3, 1}), Tensor::from_vector_i64({0, 1}, {2})),
        doctest::Contains("cross_entropy: logits must be 2-D"), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, Tensor::from_vector_i64({0, 1}, {2}), 1.5),
                         doctest::Contains("cross_entropy: label_smoothing"), Error);
    CHECK_THROWS_WITH_AS(cross_entropy_soft(logits, Tensor::zeros({2, 4})),
                         doctest::Contains("cross_entropy_soft: targets"), Error);
}

TEST_CASE("nn ops reject operands on different devices") {
    VG_REQUIRE_CUDA();
    Tensor a = Tensor::zeros({3, 4}), b = Tensor::zeros({4, 2}, DType::F32, Device::cuda(0));
    CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("matmul"), Error);
    CHECK_THROWS_WITH_AS(linear(a, Tensor::zeros({2, 4}, DType::F32, Device::cuda(0))),
                         doctest::Contains("linear"), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(Tensor::zeros({2, 3}, DType::F32, Device::cuda(0)),
                                       Tensor::from_vector_i64({0, 1}, {2})),
                         doctest::Contains("cross_entropy"), Error);
}
