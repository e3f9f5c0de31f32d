// Spot values of the elementwise ops against independent formulas, and the accuracy of the
// vectorised float exp/erf used by the CPU's GELU and softmax.
#include <cmath>

#include "tests/helpers.h"

using namespace vg;

TEST_CASE("elementwise ops match the textbook formulas") {
    std::vector<double> xs{-3.0, -0.5, 0.25, 2.0};
    Tensor x = Tensor::from_vector(xs, {4}, DType::F64);
    auto check = [&](const Tensor& y, auto&& f) {
        for (size_t i = 0; i < xs.size(); ++i)
            CHECK(y.at({int64_t(i)}) == doctest::Approx(f(xs[i])).epsilon(1e-14));
    };
    check(gelu(x), [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); });
    check(sigmoid(x), [](double v) { return 1 / (1 + std::exp(-v)); });
    check(tanh(x), [](double v) { return std::tanh(v); });
    check(relu(x), [](double v) { return v > 0 ? v : 0; });
    check(clamp(x, -1, 1), [](double v) { return std::min(1.0, std::max(-1.0, v)); });
    check(pow(abs(x), 1.5), [](double v) { return std::pow(std::fabs(v), 1.5); });
    check(rsqrt(abs(x)), [](double v) { return 1 / std::sqrt(std::fabs(v)); });
    Tensor b = Tensor::from_vector({1.0, 2.0, -1.0, 0.5}, {4}, DType::F64);
    Tensor d = div(x, b), m = maximum(x, b), c = lt(x, b);
    for (int64_t i = 0; i < 4; ++i) {
        CHECK(d.at({i}) == doctest::Approx(xs[size_t(i)] / b.at({i})));
        CHECK(m.at({i}) == std::max(xs[size_t(i)], b.at({i})));
        CHECK(c.at({i}) == (xs[size_t(i)] < b.at({i}) ? 1.0 : 0.0));
    }
    // Broadcasting: [2, 1] + [3] -> [2, 3].
    Tensor s = add(Tensor::from_vector({10, 20}, {2, 1}), Tensor::from_vector({1, 2, 3}, {3}));
    CHECK(s.to_vector() == std::vector<double>{11, 12, 13, 21, 22, 23});
}

TEST_CASE("float32 GELU and softmax track the float64 results") {
    Tensor x = test::uniform({4096}, -9, 9, DType::F64);
    std::vector<double> ref = gelu(x).to_vector(), got = gelu(x.to(DType::F32)).to_vector();
    double worst = 0;
    for (size_t i = 0; i < ref.size(); ++i)
        worst = std::max(worst, std::fabs(got[i] - ref[i]) / std::max(1.0, std::fabs(ref[i])));
    MESSAGE("float32 gelu: worst error ", worst, " (relative beyond |y| = 1)");
    CHECK(worst < 1e-6);
    Tensor logits = test::uniform({64, 65}, -30, 30, DType::F64);
    std::vector<double> p64 = softmax(logits).to_vector(),
                        p32 = softmax(logits.to(DType::F32)).to_vector();
    double wp = 0;
    for (size_t i = 0; i < p64.size(); ++i) wp = std::max(wp, std::fabs(p64[i] - p32[i]));
    MESSAGE("float32 softmax: worst absolute error ", wp);
    CHECK(wp < 1e-6);
}

TEST_CASE("vectorised float exp and erf stay within a few ulp of the float64 functions") {
    double worst_exp = 0, worst_erf = 0;
    for (int i = 0; i <= 400000; ++i) {
        float x = -87.0f + 175.0f * float(i) / 400000.0f;
        double e = std::exp(double(x));
        worst_exp = std::max(worst_exp, std::fabs(double(math::exp_approx(x)) - e) / e);
        float z = -6.0f + 12.0f * float(i) / 400000.0f;
        worst_erf =
            std::max(worst_erf, std::fabs(double(math::erf_approx(z)) - std::erf(double(z))));
    }
    MESSAGE("exp_approx worst relative error ", worst_exp, ", erf_approx worst absolute error ",
            worst_erf);
    CHECK(worst_exp < 4 * 1.2e-7);  // float's ulp at 1 is 1.19e-7
    CHECK(worst_erf < 4 * 1.2e-7);
    CHECK(math::exp_approx(0.0f) == 1.0f);
    CHECK(math::exp_approx(-88.0f) == 0.0f);  // underflows to zero, not to a 2^-126 floor
    CHECK(math::exp_approx(-1e30f) == 0.0f);
    CHECK(math::erf_approx(0.0f) == 0.0f);
}

// Whether binary() records a backward is the functor's `differentiable`, not its place in
// VG_BINARY_OPS: a rule by position ("every op from Eq on is a comparison") silently dropped the
// gradient of any op appended to the list.
TEST_CASE("every binary op records a backward exactly when its functor is differentiable") {
    Tensor a = test::uniform({3}, 0.5, 2, DType::F64, 1).requires_grad_();
    Tensor b = test::uniform({3}, 0.5, 2, DType::F64, 2).requires_grad_();
    bool comparison_seen = false, differentiable_after_comparison = false;
#define VG_CHECK_BINARY(Name, name)                                                              \
    {                                                                                            \
        Tensor y = binary(BinaryOp::Name, a, b);                                                 \
        CHECK_MESSAGE(y.requires_grad() == fn::Name::differentiable, #name);                     \
        if (!fn::Name::differentiable) comparison_seen = true;                                   \
        if (fn::Name::differentiable && comparison_seen) differentiable_after_comparison = true; \
    }
    VG_BINARY_OPS(VG_CHECK_BINARY)
#undef VG_CHECK_BINARY
    // The list keeps a differentiable op after the comparisons, so a rule by position fails here.
    CHECK(differentiable_after_comparison);
}

TEST_CASE("integer square roots are exact") {
    for (int64_t k : {int64_t(0), int64_t(1), int64_t(2), int64_t(3), int64_t(8), int64_t(64),
                      int64_t(3037000499)}) {
        CHECK(math::isqrt(k * k) == k);
        CHECK(math::is_square(k * k));
        if (k > 0) CHECK(math::isqrt(k * k - 1) == k - 1);
        if (k < 3037000499) CHECK(math::isqrt(k * k + 2 * k) == k);  // (k + 1)^2 - 1
        if (k > 1) CHECK_FALSE(math::is_square(k * k + 1));
    }
    CHECK_FALSE(math::is_square(-4));
    CHECK(math::isqrt(-4) == 0);
    static_assert(math::isqrt(INT64_MAX) == 3037000499);
}
