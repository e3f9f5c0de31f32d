// Spot values of group_norm (against loops written here, and against layer_norm for one group
// and batch_norm-free per-channel normalisation for C groups), of standardize (against the
// unbiased std written out, PyTorch's torch.std_mean default), the gradient of standardize where
// the std is zero, and the error messages of both ops.
#include <cmath>

#include "autograd/grad_mode.h"
#include "tests/helpers.h"

using namespace vg;
using namespace vg::test;

namespace {

// y[b, c, s] = (x - mean_bg) / sqrt(var_bg + eps) * w[c] + bias[c] over the group of channel c.
std::vector<double> naive_group_norm(const Tensor& x, int64_t G, const Tensor& w, const Tensor& b,
                                     double eps) {
    const int64_t B = x.size(0), C = x.size(1), S = x.numel() / (B * C), Cg = C / G;
    std::vector<double> v = x.contiguous().to_vector(), out(v.size());
    for (int64_t bi = 0; bi < B; ++bi)
        for (int64_t g = 0; g < G; ++g) {
            const size_t first = size_t((bi * C + g * Cg) * S), n = size_t(Cg * S);
            long double mu = 0, var = 0;
            for (size_t i = 0; i < n; ++i) mu += v[first + i];
            mu /= n;
            for (size_t i = 0; i < n; ++i) var += (v[first + i] - mu) * (v[first + i] - mu);
            var /= n;
            for (size_t i = 0; i < n; ++i) {
                const int64_t c = g * Cg + int64_t(i) / S;
                double y = double((v[first + i] - mu) / std::sqrt(var + eps));
                out[first + i] =
                    y * (w.defined() ? w.at({c}) : 1.0) + (b.defined() ? b.at({c}) : 0.0);
            }
        }
    return out;
}

}  // namespace

TEST_CASE("group_norm matches the per-(sample, group) formula for 1, 2 and C groups") {
    Tensor x = uniform({3, 6, 4, 5}, -3, 2);
    Tensor w = uniform({6}, 0.5, 1.5, DType::F64, 3), b = uniform({6}, -1, 1, DType::F64, 4);
    for (int64_t G : {1, 2, 3, 6}) {
        INFO("groups ", G);
        for (bool affine : {true, false}) {
            Tensor y = affine ? group_norm(x, G, w, b, 1e-5) : group_norm(x, G, {}, {}, 1e-5);
            std::vector<double> want =
                affine ? naive_group_norm(x, G, w, b, 1e-5) : naive_group_norm(x, G, {}, {}, 1e-5);
            std::vector<double> got = y.contiguous().to_vector();
            REQUIRE(got.size() == want.size());
            double worst = 0;
            for (size_t i = 0; i < got.size(); ++i)
                worst = std::max(worst, std::abs(got[i] - want[i]));
            CHECK(worst < 1e-12);
        }
    }
    // One group is a LayerNorm over (C, H, W) followed by a per-channel affine map.
    Tensor ln = layer_norm(x.reshape({3, 120}), {}, {}, 1e-5).reshape({3, 6, 4, 5});
    Tensor one = group_norm(x, 1, w, b, 1e-5);
    CHECK(max(abs(one - (ln * w.view({1, 6, 1, 1}) + b.view({1, 6, 1, 1})))).item() < 1e-12);
    // Float32 with a large offset: the statistics are accumulated in double.
    Tensor big = add_scalar(uniform({2, 4, 16, 16}, -1, 1), 1000.0);
    Tensor y32 = group_norm(big.to(DType::F32), 1, {}, {}, 1e-5).to(DType::F64);
    CHECK(max(abs(y32 - group_norm(big, 1, {}, {}, 1e-5))).item() < 2e-3);
}

TEST_CASE("group_norm's gradients: weight and bias sums, and dx orthogonal to the group's mean") {
    Tensor x = uniform({2, 4, 3, 3}, -2, 2).requires_grad_();
    Tensor w = uniform({4}, 0.5, 1.5, DType::F64, 5).requires_grad_();
    Tensor b = uniform({4}, -1, 1, DType::F64, 6).requires_grad_();
    Tensor y = group_norm(x, 2, w, b, 1e-5);
    sum(y).backward();
    // d sum(y) / d bias[c] = B * H * W; d sum(y) / d w[c] = sum of the normalised values of c.
    for (int64_t c = 0; c < 4; ++c) CHECK(b.grad().at({c}) == doctest::Approx(18.0));
    Tensor xhat = group_norm(x.detach(), 2, {}, {}, 1e-5);
    Tensor per_channel = sum(xhat, {0, 2, 3});
    CHECK(max(abs(w.grad() - per_channel)).item() < 1e-12);
    // A constant upstream gradient does not move a normalised group: dx sums to 0 over it.
    CHECK(max(abs(sum(x.grad().reshape({2, 2, 18}), {2}))).item() < 1e-10);
}

TEST_CASE("standardize uses the unbiased std with epsilon added to the std") {
    Tensor x = uniform({2, 3, 4}, -2, 3);
    Tensor y = standardize(x, {1, 2}, 1, 1e-5);
    std::vector<double> v = x.to_vector(), got = y.to_vector();
    for (int64_t b = 0; b < 2; ++b) {
        long double mu = 0, ss = 0;
        for (int64_t i = 0; i < 12; ++i) mu += v[size_t(b * 12 + i)];
        mu /= 12;
        for (int64_t i = 0; i < 12; ++i)
            ss += (v[size_t(b * 12 + i)] - mu) * (v[size_t(b * 12 + i)] - mu);
        const long double sd = std::sqrt(ss / 11);  // n - 1
        for (int64_t i = 0; i < 12; ++i)
            CHECK(
                got[size_t(b * 12 + i)] ==
                doctest::Approx(double((v[size_t(b * 12 + i)] - mu) / (sd + 1e-5))).epsilon(1e-13));
    }
    // A known case: {1, 2, 3, 4} has mean 2.5 and unbiased std sqrt(5/3).
    Tensor four = Tensor::from_vector({1, 2, 3, 4}, {4}, DType::F64);
    Tensor s = standardize(four, {}, 1, 0.5);
    CHECK(s.at({0}) == doctest::Approx(-1.5 / (std::sqrt(5.0 / 3.0) + 0.5)).epsilon(1e-14));
    Tensor biased = standardize(four, {0}, 0, 0.0);
    CHECK(biased.at({3}) == doctest::Approx(1.5 / std::sqrt(1.25)).epsilon(1e-14));
}

TEST_CASE("standardize of a constant set is 0 with a finite gradient") {
    Tensor x = Tensor::full({2, 5}, 3.0, DType::F64).requires_grad_();
    Tensor r = uniform({2, 5}, -1, 1);
    Tensor y = standardize(x, {1}, 1, 1e-5);
    CHECK(max(abs(y)).item() == 0.0);
    sum(y * r).backward();
    // The std's own gradient is taken as 0 there; the mean's remains: (r - mean(r)) / eps.
    Tensor want = (r - mean(r, {1}, true)) / 1e-5;
    CHECK(max(abs(x.grad() - want)).item() < 1e-6);
    for (double g : x.grad().to_vector()) CHECK(std::isfinite(g));
}

TEST_CASE("group_norm and standardize errors name the op and the values") {
    Tensor x = Tensor::zeros({2, 6, 3, 3});
    CHECK_THROWS_WITH_AS(
        group_norm(x, 4),
        doctest::Contains("group_norm: num_groups must be a positive divisor of the 6 channels"),
        vg::Error);
    CHECK_THROWS_WITH_AS(group_norm(x, 0), doctest::Contains("got 0"), vg::Error);
    CHECK_THROWS_WITH_AS(group_norm(Tensor::zeros({6}), 1),
                         doctest::Contains("group_norm: input must be [B, C, ...]"), vg::Error);
    CHECK_THROWS_WITH_AS(group_norm(x, 2, Tensor::ones({5})),
                         doctest::Contains("group_norm: weight must be [6]"), vg::Error);
    CHECK_THROWS_WITH_AS(group_norm(x, 2, {}, Tensor::ones({6}, DType::F64)),
                         doctest::Contains("group_norm"), vg::Error);
    CHECK_THROWS_WITH_AS(group_norm(x, 2, {}, {}, -1.0),
                         doctest::Contains("eps must be non-negative"), vg::Error);
    CHECK_THROWS_WITH_AS(group_norm(Tensor::zeros({2, 6}, DType::I64), 2),
                         doctest::Contains("float32 or float64"), vg::Error);
    CHECK_THROWS_WITH_AS(
        standardize(Tensor::zeros({3, 1}), {1}, 1),
        doctest::Contains("standardize: the unbiased std needs more than 1 element(s)"), vg::Error);
    CHECK_THROWS_WITH_AS(standardize(x, {1}, 2),
                         doctest::Contains("correction must be 0 (biased) or 1 (unbiased), got 2"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(standardize(x, {1}, 1, -0.5),
                         doctest::Contains("standardize: eps must be non-negative"), vg::Error);
    CHECK_THROWS_WITH_AS(
        standardize(x, {7}, 1),
        doctest::Contains("standardize: dim 7 is out of range for float32[2, 6, 3, 3]"), vg::Error);
    // Empty sets: a batch of 0 samples normalises to an empty result.
    CHECK(group_norm(Tensor::zeros({0, 6, 3, 3}), 3).numel() == 0);
}
