// FCViT's modules: the global context on a constructed case against the formulas written out here
// (pooled vector, per-group similarity, unbiased standardisation, rescale, competition bottleneck),
// the token and channel mixers' structure and initialisation, and float64 gradchecks of each module
// with respect to its input and parameters.
#include <cmath>

#include "nn/fcvit_mixers.h"
#include "nn/group_norm.h"
#include "tests/nn/nn_helpers.h"

using namespace vg;
using namespace vg::test;

namespace {

// Sample standard deviation of a tensor's elements.
double sample_std(const Tensor& t) {
    std::vector<double> v = t.detach().to(DType::F64).contiguous().to_vector();
    double m = 0, s = 0;
    for (double x : v) m += x;
    m /= double(v.size());
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / double(v.size() - 1));
}

}  // namespace

TEST_CASE("GlobalContext matches the released formulas on a constructed case") {
    // C = 16, G = 8 groups of c = 2 channels, a 3 x 2 map, two samples; fc1 16 -> 4, fc2 2 -> 16.
    manual_seed(3);
    nn::GlobalContext gc(16, 8, 8);
    gc.to(DType::F64);
    perturb(gc, 0.5, 21);
    const int64_t B = 2, C = 16, G = 8, c = 2, H = 3, W = 2, N = H * W, r = 2;
    Tensor x = uniform({B, C, H, W}, -2, 2, DType::F64, 5);
    nn::ContextInternals in;
    Tensor y = gc.forward(x, &in);
    REQUIRE(y.shape() == Shape{B, C, H, W});
    REQUIRE(in.similarity.shape() == Shape{B, G, H, W});
    REQUIRE(in.context.shape() == Shape{B, C});

    std::vector<double> xv = x.to_vector(), yv = y.to_vector(), sv = in.similarity.to_vector();
    std::vector<double> w1 = gc.fc1->weight.to_vector(), b1 = gc.fc1->bias.to_vector();
    std::vector<double> w2 = gc.fc2->weight.to_vector(), b2 = gc.fc2->bias.to_vector();
    std::vector<double> rw = gc.rescale_weight.to_vector(), rb = gc.rescale_bias.to_vector();
    double worst_s = 0, worst_y = 0;
    for (int64_t b = 0; b < B; ++b) {
        auto X = [&](int64_t ch, int64_t n) { return xv[size_t((b * C + ch) * N + n)]; };
        std::vector<double> pooled(size_t(C), 0.0);
        for (int64_t ch = 0; ch < C; ++ch) {
            for (int64_t n = 0; n < N; ++n) pooled[size_t(ch)] += X(ch, n);
            pooled[size_t(ch)] /= double(N);
        }
        std::vector<double> s(size_t(G * N));
        double mu = 0;
        for (int64_t g = 0; g < G; ++g)
            for (int64_t n = 0; n < N; ++n) {
                double dot = 0;
                for (int64_t i = 0; i < c; ++i) dot += X(g * c + i, n) * pooled[size_t(g * c + i)];
                s[size_t(g * N + n)] = dot / std::sqrt(double(c));
                mu += s[size_t(g * N + n)];
            }
        mu /= double(G * N);
        double ss = 0;
        for (double v : s) ss += (v - mu) * (v - mu);
        const double sd = std::sqrt(ss / double(G * N - 1));
        // The context: fc2(max(first half, second half) of fc1(pooled)).
        std::vector<double> u(size_t(2 * r)), ctx(static_cast<size_t>(C));
        for (int64_t o = 0; o < 2 * r; ++o) {
            u[size_t(o)] = b1[size_t(o)];
            for (int64_t ch = 0; ch < C; ++ch)
                u[size_t(o)] += w1[size_t(o * C + ch)] * pooled[size_t(ch)];
        }
        for (int64_t o = 0; o < C; ++o) {
            ctx[size_t(o)] = b2[size_t(o)];
            for (int64_t j = 0; j < r; ++j)
                ctx[size_t(o)] += w2[size_t(o * r + j)] * std::max(u[size_t(j)], u[size_t(r + j)]);
        }
        for (int64_t g = 0; g < G; ++g)
            for (int64_t n = 0; n < N; ++n) {
                const double shat =
                    (s[size_t(g * N + n)] - mu) / (sd + 1e-5) * rw[size_t(g)] + rb[size_t(g)];
                worst_s = std::max(worst_s, std::abs(sv[size_t((b * G + g) * N + n)] - shat));
                for (int64_t i = 0; i < c; ++i) {
                    const int64_t ch = g * c + i;
                    worst_y = std::max(worst_y, std::abs(yv[size_t((b * C + ch) * N + n)] -
                                                         shat * ctx[size_t(ch)]));
                    CHECK(in.context.at({b, ch}) ==
                          doctest::Approx(ctx[size_t(ch)]).epsilon(1e-12));
                }
            }
    }
    CHECK(worst_s < 1e-12);
    CHECK(worst_y < 1e-12);
}

TEST_CASE("GlobalContext: a standardised similarity has mean 0 and unbiased std 1 per sample") {
    manual_seed(4);
    nn::GlobalContext gc(32, 8, 8);  // rescale 1 / 0 at init
    nn::ContextInternals in;
    gc.forward(uniform({3, 32, 4, 4}, -1, 2, DType::F32, 9), &in);
    for (int64_t b = 0; b < 3; ++b) {
        Tensor s = in.similarity.select(0, b).to(DType::F64);
        CHECK(std::abs(mean(s).item()) < 1e-5);
        CHECK(sample_std(s) == doctest::Approx(1.0).epsilon(1e-4));
    }
}

TEST_CASE("FCViT mixers: released structure and initialisation") {
    manual_seed(5);
    nn::TokenMixer tm(64, 11, 8);
    CHECK(tm.hidden == 16);                   // max(64 / 8, 16)
    CHECK(nn::TokenMixer(256).hidden == 32);  // 256 / 8
    CHECK(tm.dw1->groups == 64);
    CHECK(tm.dw1->weight.shape() == Shape{64, 1, 11, 11});
    CHECK(tm.dw1->padding == 5);
    CHECK(tm.gc1->fc1->weight.shape() == Shape{16, 64});  // 2 C / 8 competing outputs
    CHECK(tm.gc1->fc2->weight.shape() == Shape{64, 8});
    // Convs: N(0, 2 / fan_out) with fan_out = k k out / groups; biases 0.
    CHECK(sample_std(tm.dw1->weight) == doctest::Approx(std::sqrt(2.0 / 121)).epsilon(0.05));
    CHECK(sample_std(tm.fc1->reduce->weight) == doctest::Approx(std::sqrt(2.0 / 16)).epsilon(0.05));
    CHECK(max(abs(tm.dw1->bias)).item() == 0.0);
    CHECK(max(abs(tm.fc2->expand->bias)).item() == 0.0);
    CHECK(sample_std(tm.gc2->fc1->weight) == doctest::Approx(0.02).epsilon(0.1));
    CHECK(max(abs(tm.gc1->rescale_weight - 1.0)).item() == 0.0);
    nn::ChannelMixer cm(32, 256);
    CHECK(cm.dwconv->weight.shape() == Shape{256, 1, 3, 3});
    CHECK(sample_std(cm.dwconv->weight) == doctest::Approx(std::sqrt(2.0 / 9)).epsilon(0.05));
    CHECK(sample_std(cm.fc2->weight) == doctest::Approx(std::sqrt(2.0 / 32)).epsilon(0.05));
    std::vector<std::string> names;
    for (auto& [name, p] : tm.named_parameters()) names.push_back(name);
    for (const char* want : {"gc1.fc1.weight", "gc1.rescale_weight", "dw1.weight", "fc1.0.weight",
                             "fc1.2.bias", "gc2.rescale_bias", "dw2.bias", "fc2.2.weight"})
        CHECK(std::find(names.begin(), names.end(), want) != names.end());
}

TEST_CASE("gradcheck: FCViT modules (float64)") {
    manual_seed(6);
    // The module in float64, moved off its init, against x [B, C, 3, 3].
    auto check = [](auto& module, Shape x_shape, uint64_t seed) {
        module.to(DType::F64);
        perturb(module, 0.3, seed);
        Tensor x = uniform(x_shape, -1, 1, DType::F64, seed).requires_grad_();
        auto r = gradcheck_module(module, x, [&](const Tensor& t) { return module.forward(t); });
        CHECK_MESSAGE(r.ok, r.message);
    };
    nn::GlobalContext gc(16, 8, 8);
    check(gc, {2, 16, 3, 3}, 31);
    nn::TokenMixer tm(16, 3, 8);
    check(tm, {1, 16, 3, 3}, 41);
    nn::ChannelMixer cm(8, 16);
    check(cm, {2, 8, 3, 3}, 51);
}

TEST_CASE("FCViT modules: configuration errors") {
    CHECK_THROWS_WITH_AS(nn::GlobalContext(12, 8, 8), doctest::Contains("GlobalContext: dim 12"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(nn::TokenMixer(16, 4), doctest::Contains("odd and positive, got 4"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(nn::GroupNorm(3, 8), doctest::Contains("GroupNorm: num_groups 3"),
                         vg::Error);
    nn::GlobalContext gc(16, 8, 8);
    CHECK_THROWS_WITH_AS(gc.forward(Tensor::zeros({2, 8, 3, 3})),
                         doctest::Contains("expected [B, 16, H, W], got float32[2, 8, 3, 3]"),
                         vg::Error);
}
