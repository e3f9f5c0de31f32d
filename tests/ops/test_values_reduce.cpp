// Reductions against loops written here: every geometry of the [O, R, I] loop (rows, columns,
// whole tensors long enough to be cut into chunks, permuted dims), ties and NaN in max, results
// that do not depend on the thread count, and the errors.
#include <omp.h>

#include <cmath>
#include <functional>

#include "tests/helpers.h"

using namespace vg;
using namespace vg::test;

namespace {

// The reduction of x [A, B, C] (float64) over `dims` by `f` applied to each group's values in
// index order, computed with plain loops; keepdim-free output in row-major order of the kept dims.
std::vector<double> loop_reduce(const Tensor& x, const std::vector<int64_t>& dims,
                                const std::function<double(const std::vector<double>&)>& f) {
    const Shape& s = x.shape();
    std::vector<double> v = x.contiguous().to_vector(), out;
    auto reduced = [&](int d) { return std::find(dims.begin(), dims.end(), d) != dims.end(); };
    int64_t n0 = reduced(0) ? 1 : s[0], n1 = reduced(1) ? 1 : s[1], n2 = reduced(2) ? 1 : s[2];
    for (int64_t a = 0; a < n0; ++a)
        for (int64_t b = 0; b < n1; ++b)
            for (int64_t c = 0; c < n2; ++c) {
                std::vector<double> group;
                for (int64_t i = 0; i < s[0]; ++i)
                    for (int64_t j = 0; j < s[1]; ++j)
                        for (int64_t k = 0; k < s[2]; ++k)
                            if ((reduced(0) || i == a) && (reduced(1) || j == b) &&
                                (reduced(2) || k == c))
                                group.push_back(v[size_t((i * s[1] + j) * s[2] + k)]);
                out.push_back(f(group));
            }
    return out;
}

double total(const std::vector<double>& g) {
    double t = 0;
    for (double v : g) t += v;
    return t;
}

// Runs f with the OpenMP pool limited to `threads`.
template <typename F>
auto with_threads(int threads, F&& f) {
    int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    auto r = f();
    omp_set_num_threads(before);
    return r;
}

}  // namespace

TEST_CASE("sum, mean and max over every dim combination match loops") {
    Tensor x = uniform({3, 4, 5}, -2, 2, DType::F64, 3);
    auto mean_of = [](const std::vector<double>& g) { return total(g) / double(g.size()); };
    auto max_of = [](const std::vector<double>& g) {
        return *std::max_element(g.begin(), g.end());
    };
    for (std::vector<int64_t> dims :
         std::vector<std::vector<int64_t>>{{0}, {1}, {2}, {0, 1}, {1, 2}, {0, 2}, {0, 1, 2}}) {
        INFO("dims ", dims.size() == 1 ? dims[0] : dims[0] * 10 + dims[1]);
        check_close(sum(x, dims).to_vector(), loop_reduce(x, dims, total), 1e-12);
        check_close(mean(x, dims).to_vector(), loop_reduce(x, dims, mean_of), 1e-12);
        check_close(max(x, dims).to_vector(), loop_reduce(x, dims, max_of), 0);
        // The same through a transposed view (the reduced dims are gathered by a copy).
        Tensor xt = x.transpose(0, 2).contiguous().transpose(0, 2);
        check_close(sum(xt, dims).to_vector(), loop_reduce(x, dims, total), 1e-12);
        check_close(max(xt, dims).to_vector(), loop_reduce(x, dims, max_of), 0);
    }
    CHECK(sum(x, {0, 2}, true).shape() == Shape{1, 4, 1});
    CHECK(mean(x).shape() == Shape{});
    std::vector<double> all = x.to_vector();
    CHECK(max(x).item() == *std::max_element(all.begin(), all.end()));
}

TEST_CASE("column reductions wider than one block of accumulators match loops") {
    Tensor x = uniform({2, 300, 700}, -1, 1, DType::F64, 4);  // O = 2, R = 300, I = 700
    check_close(sum(x, {1}).to_vector(), loop_reduce(x, {1}, total), 1e-11);
    MaxResult m = max(x, 1);
    std::vector<double> v = x.to_vector(), values = m.values.to_vector();
    std::vector<int64_t> idx = m.indices.to_vector_i64();
    for (int64_t o = 0; o < 2; ++o)
        for (int64_t i = 0; i < 700; ++i) {
            int64_t best = 0;
            for (int64_t r = 1; r < 300; ++r)
                if (v[size_t((o * 300 + r) * 700 + i)] > v[size_t((o * 300 + best) * 700 + i)])
                    best = r;
            CHECK(idx[size_t(o * 700 + i)] == best);
            CHECK(values[size_t(o * 700 + i)] == v[size_t((o * 300 + best) * 700 + i)]);
        }
}

TEST_CASE("a whole-tensor sum of millions of elements is accurate and thread-count independent") {
    // 3 000 017 elements: many chunks and a ragged tail.
    Tensor x64 = uniform({3000017}, -1, 1, DType::F64, 5);
    std::vector<double> v = x64.to_vector();
    long double ref = 0, mag = 0;
    for (double e : v) {
        ref += e;
        mag += std::fabs(e);
    }
    double s64 = sum(x64).item();
    CHECK(std::fabs(s64 - double(ref)) <= 1e-13 * double(mag));
    Tensor x32 = x64.to(DType::F32);
    double s32 = sum(x32).item();
    MESSAGE("float32 sum of 3M: error ", std::fabs(s32 - double(ref)), " of sum |x| ", double(mag));
    CHECK(std::fabs(s32 - double(ref)) <= 1e-6 * double(mag));
    // The folding order is fixed by the shape, so every thread count gives the same bits.
    for (const Tensor& x : {x32, x64}) {
        double one = with_threads(1, [&] { return sum(x).item(); });
        double all = sum(x).item();
        CHECK(one == all);
        double mean_one = with_threads(1, [&] { return mean(x).item(); });
        CHECK(mean_one == mean(x).item());
    }
    Tensor cols = x32.narrow(0, 0, 3000000).view({30000, 100});  // a column reduction
    std::vector<double> c1 = with_threads(1, [&] { return sum(cols, {0}).to_vector(); });
    CHECK(c1 == sum(cols, {0}).to_vector());
    Tensor rows = x32.narrow(0, 0, 3000000).view({3, 1000000});  // a few long rows
    std::vector<double> r1 = with_threads(1, [&] { return sum(rows, {1}).to_vector(); });
    CHECK(r1 == sum(rows, {1}).to_vector());
}

TEST_CASE("max: the first of tied maxima, NaN wins, across chunks and lanes") {
    std::vector<double> v(100000, 0.0);
    for (size_t i = 0; i < v.size(); ++i) v[i] = -double(i % 1000) / 1000.0;
    v[50003] = 5;
    v[90001] = 5;  // a tie in a later chunk: the first stays
    Tensor x = Tensor::from_vector(v, {int64_t(v.size())}, DType::F64);
    MaxResult m = max(x, 0);
    CHECK(m.values.item() == 5);
    CHECK(m.indices.to_vector_i64()[0] == 50003);
    CHECK(with_threads(1, [&] { return max(x, 0).indices.to_vector_i64()[0]; }) == 50003);
    v[70000] = std::nan("");
    v[80000] = std::nan("");
    m = max(Tensor::from_vector(v, {int64_t(v.size())}, DType::F64), 0);
    CHECK(std::isnan(m.values.item()));
    CHECK(m.indices.to_vector_i64()[0] == 70000);
    // Short rows: ties within one lane group and across lanes.
    Tensor t = Tensor::from_vector({1, 3, 3, 2, 7, 7, 7, 0}, {2, 4}, DType::F32);
    // Element by element: GCC 12.2 with -mavx512f miscompiled a comparison of these results
    // against braced int64 vectors in this test (a wrong constant, not a wrong result).
    std::vector<int64_t> rows = argmax(t, 1).to_vector_i64(), cols = argmax(t, 0).to_vector_i64();
    REQUIRE(rows.size() == 2);
    CHECK(rows[0] == 1);
    CHECK(rows[1] == 0);
    REQUIRE(cols.size() == 4);
    CHECK(cols[0] == 1);
    CHECK(cols[1] == 1);
    CHECK(cols[2] == 1);
    CHECK(cols[3] == 0);
    // The gradient goes to the first maximum only.
    Tensor y = Tensor::from_vector({2, 5, 5, 1}, {4}, DType::F64).requires_grad_();
    max(y, 0).values.backward();
    CHECK(y.grad().to_vector() == std::vector<double>{0, 1, 0, 0});
}

TEST_CASE("empty reductions and reduction errors") {
    Tensor e = Tensor::zeros({0, 3}, DType::F64);
    CHECK(sum(e, {0}).to_vector() == std::vector<double>{0, 0, 0});
    CHECK(mean(e, {0}).to_vector() == std::vector<double>{0, 0, 0});
    CHECK(sum(e).item() == 0);
    CHECK(sum(Tensor::scalar(2.5, DType::F64), {0}).item() == 2.5);
    CHECK_THROWS_WITH_AS(max(e, 0), doctest::Contains("max: reduction over an empty dim"), Error);
    CHECK_THROWS_WITH_AS(max(e), doctest::Contains("max: reduction over an empty dim"), Error);
    Tensor labels = Tensor::from_vector_i64({1, 2}, {2});
    CHECK_THROWS_WITH_AS(sum(labels),
                         doctest::Contains("sum: expected a float32 or float64 tensor, got int64"),
                         Error);
    Tensor x = Tensor::zeros({2, 3});
    CHECK_THROWS_WITH_AS(mean(x, {1, -1}),
                         doctest::Contains("mean: a dim appears twice in the reduction dims"),
                         Error);
    CHECK_THROWS_WITH_AS(max(x, 2), doctest::Contains("max: dim 2 out of range"), Error);
    CHECK_THROWS_WITH_AS(sum(Tensor()), doctest::Contains("sum"), Error);
}

namespace {

// log sum exp of a group in long double, shifted by its maximum.
double lse_ref(const std::vector<double>& g) {
    long double m = -INFINITY, s = 0;
    for (double v : g) m = std::max<long double>(m, v);
    for (double v : g) s += std::exp((long double)v - m);
    return double(m + std::log(s));
}

}  // namespace

TEST_CASE("logsumexp over every dim combination and a long row matches long double") {
    Tensor x = uniform({3, 4, 5}, -3, 3, DType::F64, 7);
    for (std::vector<int64_t> dims :
         std::vector<std::vector<int64_t>>{{0}, {1}, {2}, {0, 1}, {1, 2}, {0, 2}, {0, 1, 2}}) {
        INFO("dims ", dims.size() == 1 ? dims[0] : dims[0] * 10 + dims[1]);
        std::vector<double> want = loop_reduce(x, dims, lse_ref);
        check_close(logsumexp(x, dims).to_vector(), want, 1e-14);
        check_close(logsumexp(x.to(DType::F32), dims).to_vector(), want, 1e-5);
        Tensor xt = x.transpose(0, 2).contiguous().transpose(0, 2);
        check_close(logsumexp(xt, dims).to_vector(), want, 1e-14);
    }
    CHECK(logsumexp(x, {0, 2}, true).shape() == Shape{1, 4, 1});
    // 3 000 017 elements: many chunks, every lane and a ragged tail; the same bits on one thread.
    Tensor big = uniform({3000017}, -10, 10, DType::F64, 8);
    double want = lse_ref(big.to_vector());
    CHECK(std::fabs(logsumexp(big).item() - want) <= 1e-13 * std::fabs(want));
    Tensor big32 = big.to(DType::F32);
    CHECK(std::fabs(logsumexp(big32).item() - want) <= 1e-5 * std::fabs(want));
    for (const Tensor& t : {big, big32})
        CHECK(with_threads(1, [&] { return logsumexp(t).item(); }) == logsumexp(t).item());
}

TEST_CASE(
    "logsumexp: large logits, infinities, NaN and empty groups, and its gradient is the softmax") {
    const double inf = INFINITY;
    // Rows: large logits (exp would overflow float), one -inf, all -inf, +inf, NaN.
    Tensor x = Tensor::from_vector({1000, 1000,
                                    999,  0,  //
                                    -inf, 0,
                                    0,    -inf,  //
                                    -inf, -inf,
                                    -inf, -inf,  //
                                    1,    inf,
                                    2,    3,  //
                                    1,    std::nan(""),
                                    2,    3},
                                   {5, 4}, DType::F32);
    std::vector<double> y = logsumexp(x, {1}).to_vector();
    REQUIRE(y.size() == 5);
    CHECK(y[0] == doctest::Approx(1000 + std::log(2 + std::exp(-1.0))).epsilon(1e-7));
    CHECK(y[1] == doctest::Approx(std::log(2.0)).epsilon(1e-7));
    CHECK(y[2] == -inf);
    CHECK(y[3] == inf);
    CHECK(std::isnan(y[4]));
    // Down the columns (the column loop) the same rules hold.
    std::vector<double> cols = logsumexp(x.narrow(0, 0, 3), {0}).to_vector();
    CHECK(cols[0] == doctest::Approx(1000).epsilon(1e-7));
    CHECK(cols[2] == doctest::Approx(999).epsilon(1e-7));
    CHECK(cols[3] == 0);  // {0, -inf, -inf}
    // Empty groups give -inf, as torch.logsumexp.
    CHECK(logsumexp(Tensor::zeros({2, 0}, DType::F64), {1}).to_vector() ==
          std::vector<double>{-inf, -inf});
    // dy/dx = softmax(x); a group of all -inf gets 0, as a fully masked softmax row, not NaN.
    Tensor z = uniform({4, 7}, -3, 3, DType::F64, 9).requires_grad_();
    sum(logsumexp(z, {1})).backward();
    check_close(z.grad().to_vector(), softmax(z.detach(), 1).to_vector(), 1e-15);
    Tensor masked = Tensor::full({2, 3}, -inf, DType::F64).requires_grad_();
    sum(logsumexp(masked, {1})).backward();
    CHECK(masked.grad().to_vector() == std::vector<double>(6, 0.0));
}
