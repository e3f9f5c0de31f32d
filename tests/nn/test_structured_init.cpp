// The mathematics of structured attention initialisation against independent formulas: target
// taps and shift matrices, the v2 closed form's least-squares property, the mimetic factors'
// truncated-SVD properties, and the target-fit measurement.
#include <cmath>

#include "nn/structured_init.h"
#include "tests/helpers.h"

using namespace vg;
using namespace vg::nn::sinit;
using namespace vg::test;

namespace {

// Naive row-major matrix product of float64 tensors (an independent check of the Eigen code).
std::vector<double> matmul_naive(const Tensor& a, const Tensor& b) {
    const int64_t n = a.size(0), k = a.size(1), m = b.size(1);
    std::vector<double> x = a.contiguous().to_vector(), y = b.contiguous().to_vector(),
                        z(size_t(n * m), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t l = 0; l < k; ++l)
            for (int64_t j = 0; j < m; ++j)
                z[size_t(i * m + j)] += x[size_t(i * k + l)] * y[size_t(l * m + j)];
    return z;
}

double frob(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x * x;
    return std::sqrt(s);
}

}  // namespace

TEST_CASE("structured init: window taps, the v2 order and shift matrices") {
    CHECK(kernel_offset(4, 3) == Offset{0, 0});
    CHECK(kernel_offset(0, 3) == Offset{-1, -1});
    CHECK(kernel_offset(5, 3) == Offset{0, 1});
    CHECK(kernel_offset(24, 5) == Offset{2, 2});
    CHECK_THROWS_WITH_AS(kernel_offset(9, 3), doctest::Contains("outside a 3x3 window"), Error);
    std::vector<Offset> v2 = fixed_offsets_3x3(10);
    CHECK(v2[0] == Offset{0, 0});    // tap 4: the centre first
    CHECK(v2[1] == Offset{-1, 0});   // tap 1
    CHECK(v2[2] == Offset{0, 1});    // tap 5
    CHECK(v2[5] == Offset{-1, -1});  // tap 0
    CHECK(v2[9] == v2[0]);           // h mod 9

    Generator g1(3), g2(3);
    std::vector<Offset> a = random_offsets(64, 5, g1), b = random_offsets(64, 5, g2);
    CHECK(a == b);  // a seed fixes the taps
    bool spread = false;
    for (const Offset& o : a) {
        CHECK(std::abs(o.dy) <= 2);
        CHECK(std::abs(o.dx) <= 2);
        spread |= !(o == a[0]);
    }
    CHECK(spread);

    // 3x3 grid, key one row down and one column left: T[(r, c), (r + 1, c - 1)].
    Tensor T = shift_targets(3, {Offset{1, -1}}, DType::F64);
    CHECK(T.shape() == Shape{1, 9, 9});
    CHECK(T.at({0, 1, 3}) == 1.0);  // (0, 1) -> (1, 0)
    CHECK(T.at({0, 5, 7}) == 1.0);  // (1, 2) -> (2, 1)
    Tensor rows = sum(T, {2});
    // Rows whose target leaves the grid (column 0 or the last row) are all zero: 4 valid of 9.
    std::vector<double> want{0, 1, 1, 0, 1, 1, 0, 0, 0};
    CHECK(rows.select(0, 0).to_vector() == want);
    CHECK(sum(T).item() == 4.0);
}

TEST_CASE("structured init: LayerNorm without affine and v2's target logits") {
    Tensor x = uniform({5, 8}, -3, 3);
    Tensor y = layer_norm_no_affine(x);
    for (int64_t i = 0; i < 5; ++i) {
        std::vector<double> r = x.select(0, i).to_vector(), o = y.select(0, i).to_vector();
        double m = 0, v = 0;
        for (double t : r) m += t / 8;
        for (double t : r) v += (t - m) * (t - m) / 8;
        for (size_t j = 0; j < 8; ++j)
            CHECK(o[j] == doctest::Approx((r[j] - m) / std::sqrt(v + 1e-5)));
    }
    Tensor T = shift_targets(2, {Offset{0, 1}}, DType::F64);
    Tensor E = Tensor::full(T.shape(), 0.5, DType::F64);
    Tensor W = impulse_v2_logits(T, E);
    CHECK(W.at({0, 0, 1}) == 1000.0);  // on the target
    CHECK(W.at({0, 0, 0}) == 1.5);     // elsewhere 3 E
    CHECK_THROWS_WITH_AS(impulse_v2_logits(T, Tensor::zeros({1, 4})),
                         doctest::Contains("must have the targets' shape"), Error);
}

TEST_CASE("structured init: v2's closed form reproduces logits in P's span (full rank)") {
    // With P of full column rank and r = D, P+ = (P^T P)^-1 P^T, and W = P X P^T is reproduced
    // exactly: P Q K P^T is parallel to W, with unit-norm factors.
    const int64_t N = 12, D = 6;
    Tensor P = uniform({N, D}, -1, 1, DType::F64, 11);
    Tensor X = uniform({D, D}, -1, 1, DType::F64, 12);
    Tensor W = Tensor::from_vector(
        matmul_naive(Tensor::from_vector(matmul_naive(P, X), {N, D}, DType::F64),
                     P.transpose(0, 1)),
        {1, N, N}, DType::F64);
    QKFactors f = impulse_v2_factors(P, W, D);
    REQUIRE(f.q.shape() == Shape{1, D, D});
    REQUIRE(f.k.shape() == Shape{1, D, D});
    CHECK(frob(f.q.to_vector()) == doctest::Approx(1.0));
    CHECK(frob(f.k.to_vector()) == doctest::Approx(1.0));
    Tensor pq = Tensor::from_vector(matmul_naive(P, f.q.select(0, 0)), {N, D}, DType::F64);
    Tensor kp =
        Tensor::from_vector(matmul_naive(f.k.select(0, 0), P.transpose(0, 1)), {D, N}, DType::F64);
    std::vector<double> got = matmul_naive(pq, kp), want = W.to_vector();
    double dot = 0;
    for (size_t i = 0; i < got.size(); ++i) dot += got[i] * want[i];
    CHECK(dot / (frob(got) * frob(want)) == doctest::Approx(1.0).epsilon(1e-12));

    CHECK_THROWS_WITH_AS(impulse_v2_factors(P, W, D + 1), doctest::Contains("rank 7 must lie in"),
                         Error);
    CHECK_THROWS_WITH_AS(impulse_v2_factors(P, Tensor::zeros({1, 3, 3}), 2),
                         doctest::Contains("expected P [N, D] and logits [H, N, N]"), Error);
    // Rank-deficient P: LayerNorm removes the mean, so P^T P of width 6 has rank <= 5.
    CHECK_THROWS_WITH_AS(impulse_v2_factors(layer_norm_no_affine(P), W, D),
                         doctest::Contains("has rank below 6"), Error);
}

TEST_CASE("structured init: mimetic factors are the SVD square roots of alpha Z + beta I") {
    const int64_t D = 24, d = 8;
    Generator g(5);
    Tensor Z = mimetic_noise(D, g);
    const double bound = std::sqrt(3.0 / D);
    CHECK(max(abs(Z)).item() <= bound);
    double var = 0;
    for (double z : Z.to_vector()) var += z * z / double(D * D);
    CHECK(var == doctest::Approx(1.0 / D).epsilon(0.15));  // variance 1/D

    for (double beta : {0.7, -0.4}) {
        MimeticFactors f = mimetic_factors(Z, std::abs(beta), beta);
        std::vector<double> A = (Z * std::abs(beta)).to_vector();
        for (int64_t i = 0; i < D; ++i) A[size_t(i * D + i)] += beta;
        // Full rank: L R = A.
        check_close(matmul_naive(f.L, f.R), A, 1e-12);
        // Truncation to d columns (one head of width d): L_d R_d is the best rank-d approximation,
        // so the residual is orthogonal to it and its energy is that of the dropped singular
        // values: sum of s_c^2 for c >= d, where s_c is the squared norm of column c of L.
        std::vector<double> Ad =
            matmul_naive(f.L.narrow(1, 0, d).contiguous(), f.R.narrow(0, 0, d).contiguous());
        double inner = 0, res = 0, tail = 0;
        for (size_t i = 0; i < A.size(); ++i)
            inner += (A[i] - Ad[i]) * Ad[i], res += (A[i] - Ad[i]) * (A[i] - Ad[i]);
        for (int64_t c = d; c < D; ++c) {
            std::vector<double> col = f.L.select(1, c).to_vector();
            tail += std::pow(frob(col), 4);
        }
        CHECK(std::abs(inner) < 1e-10);
        CHECK(res == doctest::Approx(tail).epsilon(1e-9));
        MESSAGE("beta ", beta, ": rank-", d, " relative error ", std::sqrt(res) / frob(A));
    }
    CHECK_THROWS_WITH_AS(mimetic_factors(Tensor::zeros({2, 3}), 1, 1), doctest::Contains("square"),
                         Error);
}

TEST_CASE("structured init: target fit of exact, uniform and misplaced maps") {
    const int64_t S = 4, N = 16;
    std::vector<Offset> taps{Offset{0, 1}, Offset{-1, -1}};
    Tensor exact = shift_targets(S, taps, DType::F64);
    TargetFit f = target_fit(exact, taps);
    for (int h = 0; h < 2; ++h) {
        CHECK(f.mass[size_t(h)] == 1.0);
        CHECK(f.distance[size_t(h)] == doctest::Approx(0.0));
    }
    Tensor uniform_maps = Tensor::full({2, 2, N, N}, 1.0 / N, DType::F64);
    f = target_fit(uniform_maps, taps);
    CHECK(f.mass[0] == doctest::Approx(1.0 / N));
    // Identity maps: the centre is the query itself, one patch from the (0, 1) target.
    Tensor id = shift_targets(S, {Offset{0, 0}, Offset{0, 0}}, DType::F64);
    f = target_fit(id, taps);
    CHECK(f.mass[0] == 0.0);
    CHECK(f.distance[0] == doctest::Approx(1.0));
    CHECK(f.distance[1] == doctest::Approx(std::sqrt(2.0)));
    CHECK_THROWS_WITH_AS(target_fit(Tensor::zeros({3, 16, 16}), taps),
                         doctest::Contains("expected attention"), Error);
}
