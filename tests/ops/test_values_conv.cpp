// Spot values of grouped / depthwise / 1x1 conv2d, batch_norm and relu6 against loops written
// here, the direct depthwise kernels against the im2col path at FCViT and Refiner sizes, and the
// error messages of these ops.
#include <cmath>

#include "autograd/grad_mode.h"
#include "tests/helpers.h"

using namespace vg;
using namespace vg::test;

namespace {

// out[b, o, i, j] = bias[o] + sum_{c in group(o), ki, kj} x[b, c, i s - p + ki, j s - p + kj]
// w[o, c - group start, ki, kj].
std::vector<double> naive_grouped_conv(const Tensor& x, const Tensor& w, const Tensor& b, int64_t s,
                                       int64_t p, int64_t G) {
    const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    const int64_t O = w.size(0), Cg = w.size(1), kh = w.size(2), kw = w.size(3), Og = O / G;
    const int64_t Ho = (H + 2 * p - kh) / s + 1, Wo = (W + 2 * p - kw) / s + 1;
    std::vector<double> xv = x.to_vector(), wv = w.to_vector(), out;
    for (int64_t bi = 0; bi < B; ++bi)
        for (int64_t o = 0; o < O; ++o)
            for (int64_t i = 0; i < Ho; ++i)
                for (int64_t j = 0; j < Wo; ++j) {
                    double acc = b.defined() ? b.at({o}) : 0.0;
                    for (int64_t cg = 0; cg < Cg; ++cg)
                        for (int64_t ki = 0; ki < kh; ++ki)
                            for (int64_t kj = 0; kj < kw; ++kj) {
                                int64_t c = (o / Og) * Cg + cg, h = i * s - p + ki,
                                        col = j * s - p + kj;
                                if (h < 0 || h >= H || col < 0 || col >= W) continue;
                                acc += xv[size_t(((bi * C + c) * H + h) * W + col)] *
                                       wv[size_t(((o * Cg + cg) * kh + ki) * kw + kj)];
                            }
                    out.push_back(acc);
                }
    (void)C;
    return out;
}

// Largest |a - b| over two tensors of one shape.
double max_diff(const Tensor& a, const Tensor& b) {
    REQUIRE(a.shape() == b.shape());
    return max(abs(a.detach().to(DType::F64) - b.detach().to(DType::F64))).item();
}

}  // namespace

TEST_CASE("conv2d matches a naive (grouped) convolution on every path") {
    struct Geo {
        Shape x, w;
        int64_t s, p, G;
        bool bias;
    };
    for (const Geo& g : {
             Geo{{2, 3, 7, 6}, {4, 3, 3, 3}, 1, 1, 1, true},    // padded
             Geo{{1, 2, 9, 8}, {3, 2, 3, 2}, 2, 0, 1, false},   // strided, non-square kernel
             Geo{{2, 3, 8, 8}, {5, 3, 4, 4}, 4, 0, 1, true},    // patch embedding
             Geo{{1, 1, 5, 5}, {2, 1, 5, 5}, 3, 2, 1, true},    // kernel = image, stride 3
             Geo{{2, 4, 6, 5}, {6, 2, 3, 3}, 1, 1, 2, true},    // grouped, im2col
             Geo{{2, 3, 7, 6}, {3, 1, 3, 3}, 1, 1, 3, true},    // depthwise 3x3, direct
             Geo{{1, 4, 9, 8}, {4, 1, 5, 5}, 1, 2, 4, false},   // depthwise 5x5, direct
             Geo{{2, 2, 5, 4}, {2, 1, 11, 11}, 1, 5, 2, true},  // 11x11 over a smaller map
             Geo{{1, 3, 8, 8}, {3, 1, 3, 3}, 2, 1, 3, true},    // depthwise, strided: im2col
             Geo{{2, 2, 5, 5}, {6, 1, 3, 3}, 1, 0, 2, false},   // channel multiplier 3
             Geo{{2, 6, 4, 3}, {4, 6, 1, 1}, 1, 0, 1, true},    // 1x1: one GEMM
             Geo{{2, 6, 4, 3}, {3, 2, 1, 1}, 1, 0, 3, false},   // grouped 1x1
             Geo{{1, 3, 5, 5}, {2, 3, 1, 1}, 2, 1, 1, true},    // 1x1, strided and padded
         }) {
        for (DType dt : {DType::F32, DType::F64}) {
            Tensor x = uniform(g.x, -1, 1, dt, 1), w = uniform(g.w, -1, 1, dt, 2);
            Tensor b = g.bias ? uniform({g.w[0]}, -1, 1, dt, 3) : Tensor();
            Tensor y = conv2d(x, w, b, g.s, g.p, g.G);
            INFO("x ", g.x.str(), " w ", g.w.str(), " groups ", g.G, " ", dtype_name(dt));
            const int64_t Ho = (g.x[2] + 2 * g.p - g.w[2]) / g.s + 1;
            const int64_t Wo = (g.x[3] + 2 * g.p - g.w[3]) / g.s + 1;
            CHECK(y.shape() == Shape{g.x[0], g.w[0], Ho, Wo});
            check_close(y.to_vector(), naive_grouped_conv(x, w, b, g.s, g.p, g.G),
                        dt == DType::F32 ? 1e-4 : 1e-12);
        }
    }
}

// The direct depthwise kernels (forward and both gradients) against the same convolution done one
// channel at a time through the groups = 1 im2col path, at FCViT's 11x11 / pad 5 and Refiner's 3x3
// attention-map shapes (batch reduced).
TEST_CASE("depthwise conv2d: direct kernels equal per-channel im2col convolutions") {
    struct Geo {
        int64_t B, C, H, k, p;
    };
    for (const Geo& g : {Geo{2, 5, 16, 11, 5}, Geo{3, 4, 4, 11, 5}, Geo{2, 3, 17, 3, 1}}) {
        for (DType dt : {DType::F64, DType::F32}) {
            INFO("B ", g.B, " C ", g.C, " H ", g.H, " k ", g.k, " ", dtype_name(dt));
            Tensor x = uniform({g.B, g.C, g.H, g.H}, -1, 1, dt, 4).requires_grad_();
            Tensor w = uniform({g.C, 1, g.k, g.k}, -1, 1, dt, 5).requires_grad_();
            Tensor b = uniform({g.C}, -1, 1, dt, 6).requires_grad_();
            Tensor dy = uniform({g.B, g.C, g.H, g.H}, -1, 1, dt, 7);
            Tensor y = conv2d(x, w, b, 1, g.p, g.C);
            y.backward(dy);

            Tensor x2 = x.detach().clone().requires_grad_(),
                   w2 = w.detach().clone().requires_grad_();
            Tensor b2 = b.detach().clone().requires_grad_();
            std::vector<Tensor> per_channel;
            for (int64_t c = 0; c < g.C; ++c)
                per_channel.push_back(
                    conv2d(x2.narrow(1, c, 1), w2.narrow(0, c, 1), b2.narrow(0, c, 1), 1, g.p));
            Tensor y2 = cat(per_channel, 1);
            y2.backward(dy);
            double tol = dt == DType::F64 ? 1e-11 : 2e-4;
            CHECK(max_diff(y, y2) < tol);
            CHECK(max_diff(x.grad(), x2.grad()) < tol);
            CHECK(max_diff(w.grad(), w2.grad()) < tol * g.B * g.H);  // sums over B*H*W products
            CHECK(max_diff(b.grad(), b2.grad()) < tol * g.B * g.H);
        }
    }
}

TEST_CASE("batch_norm: batch statistics, running-average update and eval mode") {
    const int64_t B = 3, C = 2, H = 2, W = 3, S = H * W;
    for (DType dt : {DType::F64, DType::F32}) {
        Tensor x = uniform({B, C, H, W}, -2, 3, dt, 8);
        Tensor w = Tensor::from_vector({1.5, -0.5}, {C}, dt),
               b = Tensor::from_vector({0.2, 1.0}, {C}, dt);
        Tensor rm = Tensor::from_vector({0.5, -1.0}, {C}, dt),
               rv = Tensor::from_vector({2.0, 0.25}, {C}, dt);
        std::vector<double> xv = x.to_vector();
        std::vector<double> mu(C, 0.0), var(C, 0.0);
        for (int64_t c = 0; c < C; ++c) {
            for (int64_t bi = 0; bi < B; ++bi)
                for (int64_t s = 0; s < S; ++s) mu[c] += xv[size_t((bi * C + c) * S + s)];
            mu[c] /= double(B * S);
            for (int64_t bi = 0; bi < B; ++bi)
                for (int64_t s = 0; s < S; ++s)
                    var[c] += std::pow(xv[size_t((bi * C + c) * S + s)] - mu[c], 2);
            var[c] /= double(B * S);  // biased, as the normalisation uses
        }
        const double eps = 1e-5, m = 0.1, wv[] = {1.5, -0.5}, bv[] = {0.2, 1.0};
        Tensor y = batch_norm(x, w, b, rm, rv, true, m, eps);
        std::vector<double> want;
        for (int64_t bi = 0; bi < B; ++bi)
            for (int64_t c = 0; c < C; ++c)
                for (int64_t s = 0; s < S; ++s)
                    want.push_back((xv[size_t((bi * C + c) * S + s)] - mu[c]) /
                                       std::sqrt(var[c] + eps) * wv[c] +
                                   bv[c]);
        double tol = dt == DType::F64 ? 1e-12 : 1e-5;
        check_close(y.to_vector(), want, tol);
        // Running statistics: momentum 0.1 towards the batch mean and the UNBIASED variance.
        const double n = double(B * S);
        check_close(rm.to_vector(), {0.9 * 0.5 + m * mu[0], 0.9 * -1.0 + m * mu[1]}, tol);
        check_close(rv.to_vector(),
                    {0.9 * 2.0 + m * var[0] * n / (n - 1), 0.9 * 0.25 + m * var[1] * n / (n - 1)},
                    tol);
        // Eval: the (updated) running statistics, left untouched.
        std::vector<double> rmv = rm.to_vector(), rvv = rv.to_vector();
        Tensor ye = batch_norm(x, w, b, rm, rv, false, m, eps);
        want.clear();
        for (int64_t bi = 0; bi < B; ++bi)
            for (int64_t c = 0; c < C; ++c)
                for (int64_t s = 0; s < S; ++s)
                    want.push_back((xv[size_t((bi * C + c) * S + s)] - rmv[c]) /
                                       std::sqrt(rvv[c] + eps) * wv[c] +
                                   bv[c]);
        check_close(ye.to_vector(), want, tol);
        CHECK(rm.to_vector() == rmv);
        CHECK(rv.to_vector() == rvv);
    }
}

TEST_CASE("batch_norm: eval-mode gradients are those of a fixed affine map") {
    Tensor x = uniform({2, 3, 2, 2}, -1, 1, DType::F64, 9).requires_grad_();
    Tensor w = Tensor::from_vector({1.0, 2.0, -1.0}, {3}, DType::F64).requires_grad_();
    Tensor rm = Tensor::from_vector({0.1, 0.2, 0.3}, {3}, DType::F64);
    Tensor rv = Tensor::from_vector({4.0, 1.0, 0.25}, {3}, DType::F64);
    Tensor dy = uniform({2, 3, 2, 2}, -1, 1, DType::F64, 10);
    batch_norm(x, w, {}, rm, rv, false, 0.1, 0.0).backward(dy);
    std::vector<double> gx = x.grad().to_vector(), dyv = dy.to_vector();
    const double scale[] = {1.0 / 2.0, 2.0 / 1.0, -1.0 / 0.5};
    for (size_t i = 0; i < gx.size(); ++i)
        CHECK(gx[i] == doctest::Approx(dyv[i] * scale[(i / 4) % 3]).epsilon(1e-12));
}

TEST_CASE("relu6: values and PyTorch's gradient (0 at both bounds)") {
    Tensor x = Tensor::from_vector({-1, 0, 3, 6, 7, 5.999}, {6}, DType::F64).requires_grad_();
    Tensor y = relu6(x);
    CHECK(y.to_vector() == std::vector<double>{0, 0, 3, 6, 6, 5.999});
    y.backward(Tensor::ones({6}, DType::F64));
    // torch.nn.functional.relu6 (hardtanh) gives [0, 0, 1, 0, 0, 1]; clamp would pass the bounds.
    CHECK(x.grad().to_vector() == std::vector<double>{0, 0, 1, 0, 0, 1});
    Tensor xc = Tensor::from_vector({0, 6}, {2}, DType::F64).requires_grad_();
    sum(clamp(xc, 0, 6)).backward();
    CHECK(xc.grad().to_vector() == std::vector<double>{1, 1});
}

TEST_CASE("conv2d groups and batch_norm errors name the op and the shapes") {
    Tensor img = Tensor::zeros({1, 4, 8, 8});
    CHECK_THROWS_WITH_AS(conv2d(img, Tensor::zeros({6, 2, 3, 3}), {}, 1, 1, 3),
                         doctest::Contains("conv2d: groups 3 must be >= 1 and divide"), vg::Error);
    CHECK_THROWS_WITH_AS(conv2d(img, Tensor::zeros({4, 1, 3, 3}), {}, 1, 1, 0),
                         doctest::Contains("groups 0"), vg::Error);
    CHECK_THROWS_WITH_AS(
        conv2d(img, Tensor::zeros({4, 1, 3, 3}), {}, 1, 1, 2),
        doctest::Contains("weight [4, 1, 3, 3] with groups 2 expects 2 (1 per group)"), vg::Error);
    CHECK_THROWS_WITH_AS(conv2d(img, Tensor::zeros({4, 1, 3, 3}), Tensor::zeros({3}), 1, 1, 4),
                         doctest::Contains("conv2d: bias [3] must be [4]"), vg::Error);

    Tensor x = Tensor::zeros({2, 3, 4, 4});
    CHECK_THROWS_WITH_AS(batch_norm(Tensor::zeros({3}), {}, {}, {}, {}, true),
                         doctest::Contains("batch_norm: input must be [B, C, ...]"), vg::Error);
    CHECK_THROWS_WITH_AS(batch_norm(x, Tensor::ones({4}), {}, {}, {}, true),
                         doctest::Contains("batch_norm: weight must be [3] for input"), vg::Error);
    CHECK_THROWS_WITH_AS(batch_norm(x, {}, {}, Tensor::zeros({3}), {}, true),
                         doctest::Contains("given together"), vg::Error);
    CHECK_THROWS_WITH_AS(batch_norm(x, {}, {}, {}, {}, true, 1.5),
                         doctest::Contains("momentum must be in [0, 1], got 1.5"), vg::Error);
    CHECK_THROWS_WITH_AS(batch_norm(Tensor::zeros({1, 3}), {}, {}, {}, {}, true),
                         doctest::Contains("more than 1 value per channel"), vg::Error);
    CHECK_THROWS_WITH_AS(batch_norm(x, {}, {}, {}, {}, true, 0.1, -1.0),
                         doctest::Contains("eps must be non-negative"), vg::Error);
    CHECK_THROWS_WITH_AS(batch_norm(x.to(DType::F64), Tensor::ones({3}), {}, {}, {}, true),
                         doctest::Contains("batch_norm"), vg::Error);
    // Eval with running statistics accepts a single value per channel.
    CHECK(batch_norm(Tensor::ones({1, 3}), {}, {}, Tensor::zeros({3}), Tensor::ones({3}), false)
              .shape() == Shape{1, 3});
}
