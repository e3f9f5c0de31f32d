// Spot values of the indexing, shape and dropout ops against loops written here, and the error
// messages of those ops and conv2d (conv2d's values: test_values_conv.cpp).
#include <cmath>

#include "tests/helpers.h"

using namespace vg;
using namespace vg::test;

TEST_CASE("gather and index_select match hand loops") {
    Tensor x = uniform({3, 4, 2}, -1, 1, DType::F64, 5);
    Tensor idx = Tensor::from_vector_i64({3, 0, 1, 1, 2, 2, 0, 3, 3, 3, 1, 0}, {3, 2, 2});
    Tensor y = gather(x, 1, idx);
    CHECK(y.shape() == Shape{3, 2, 2});
    for (int64_t a = 0; a < 3; ++a)
        for (int64_t j = 0; j < 2; ++j)
            for (int64_t c = 0; c < 2; ++c)
                CHECK(y.at({a, j, c}) == x.at({a, int64_t(idx.at({a, j, c})), c}));

    Tensor sel = Tensor::from_vector_i64({2, 0, 2}, {3});
    Tensor z = index_select(x, 0, sel);
    CHECK(z.shape() == Shape{3, 4, 2});
    for (int64_t j = 0; j < 3; ++j)
        for (int64_t r = 0; r < 4; ++r)
            for (int64_t c = 0; c < 2; ++c)
                CHECK(z.at({j, r, c}) == x.at({int64_t(sel.at({j})), r, c}));

    // Backward: index 2 is selected twice, so its gradient is 2, index 1 is never selected.
    Tensor leaf = x.detach().requires_grad_();
    sum(index_select(leaf, 0, sel)).backward();
    CHECK(leaf.grad().at({2, 1, 1}) == 2.0);
    CHECK(leaf.grad().at({0, 3, 0}) == 1.0);
    CHECK(leaf.grad().at({1, 0, 0}) == 0.0);
}

TEST_CASE("one_hot") {
    Tensor labels = Tensor::from_vector_i64({2, 0, 3}, {3});
    Tensor oh = one_hot(labels, 4, DType::F64);
    CHECK(oh.shape() == Shape{3, 4});
    for (int64_t i = 0; i < 3; ++i)
        for (int64_t k = 0; k < 4; ++k)
            CHECK(oh.at({i, k}) == (k == int64_t(labels.at({i})) ? 1.0 : 0.0));
    CHECK(one_hot(Tensor::from_vector_i64({1, 0, 0, 1}, {2, 2}), 2).shape() == Shape{2, 2, 2});
}

TEST_CASE("cat, stack, split and pad layouts") {
    Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2}, DType::F64);
    Tensor b = Tensor::from_vector({5, 6}, {2, 1}, DType::F64);
    CHECK(cat({a, b}, 1).to_vector() == std::vector<double>{1, 2, 5, 3, 4, 6});
    CHECK(cat({a, b.transpose(0, 1)}, 0).to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});
    Tensor s = stack({a, a * 2.0}, 0);
    CHECK(s.shape() == Shape{2, 2, 2});
    CHECK(s.to_vector() == std::vector<double>{1, 2, 3, 4, 2, 4, 6, 8});
    CHECK(stack({a, a}, -1).to_vector() == std::vector<double>{1, 1, 2, 2, 3, 3, 4, 4});
    auto parts = split(Tensor::arange(6, DType::F64).reshape({2, 3}), {1, 2}, 1);
    CHECK(parts[0].to_vector() == std::vector<double>{0, 3});
    CHECK(parts[1].to_vector() == std::vector<double>{1, 2, 4, 5});
    // unbind hands back views: a write through one shows in the source.
    Tensor src = Tensor::arange(6, DType::F64).reshape({2, 3});
    auto cols = unbind(src, 1);
    REQUIRE(cols.size() == 3);
    CHECK(cols[2].to_vector() == std::vector<double>{2, 5});
    cols[1].fill_(-1);
    CHECK(src.to_vector() == std::vector<double>{0, -1, 2, 3, -1, 5});
    // F.pad order: (left, right) of the last dim, then (top, bottom) of the one before.
    Tensor p = pad(a, {1, 0, 0, 1}, 9);
    CHECK(p.shape() == Shape{3, 3});
    CHECK(p.to_vector() == std::vector<double>{9, 1, 2, 9, 3, 4, 9, 9, 9});
    Tensor p4 = pad(Tensor::ones({1, 1, 1, 1}, DType::F64), {1, 1, 1, 1});
    CHECK(p4.shape() == Shape{1, 1, 3, 3});
    CHECK(p4.to_vector() == std::vector<double>{0, 0, 0, 0, 1, 0, 0, 0, 0});
}

TEST_CASE("dropout and drop_path masks") {
    const double p = 0.3;
    Tensor x = Tensor::ones({100000}, DType::F32);
    Generator g1(17), g2(17);
    Tensor y1 = dropout(x, p, true, &g1), y2 = dropout(x, p, true, &g2);
    CHECK(y1.to_vector() == y2.to_vector());
    CHECK(g1.offset() == 100000);
    // The next draw from the same generator uses fresh counters: a different mask.
    CHECK(dropout(x, p, true, &g1).to_vector() != y1.to_vector());

    std::vector<double> v = y1.to_vector();
    int64_t kept = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        // Element i keeps iff the i-th uniform of the draw is >= p.
        Philox4 w = philox_for(17, 0, i);
        bool keep = uniform01(w.v[0], w.v[1]) >= p;
        CHECK((v[i] != 0.0) == keep);
        if (v[i] != 0.0) {
            ++kept;
            CHECK(std::abs(v[i] - 1.0 / (1.0 - p)) < 1e-6);
        }
    }
    // Binomial std of the kept fraction is sqrt(p(1-p)/n) ~ 0.0014; allow 5 of them.
    CHECK(std::abs(double(kept) / 1e5 - (1 - p)) < 0.0075);

    CHECK(dropout(x, p, false).storage() == x.storage());
    CHECK(dropout(x, 0.0, true).storage() == x.storage());

    // Backward multiplies by the same scaled mask.
    Tensor leaf = uniform({50}, -1, 1, DType::F64, 9).requires_grad_();
    Generator g3(5);
    Tensor y = dropout(leaf, 0.5, true, &g3);
    sum(y).backward();
    std::vector<double> yv = y.to_vector(), lv = leaf.to_vector(), gv = leaf.grad().to_vector();
    for (size_t i = 0; i < yv.size(); ++i) CHECK(yv[i] == doctest::Approx(lv[i] * gv[i]));

    // drop_path: a whole sample is kept or dropped.
    Generator g4(8);
    Tensor d = drop_path(Tensor::ones({64, 3, 5}, DType::F64), 0.4, true, &g4);
    CHECK(g4.offset() == 64);
    for (int64_t bi = 0; bi < 64; ++bi) {
        Tensor row = d.select(0, bi);
        double first = row.at({0, 0});
        CHECK((first == 0.0 || std::abs(first - 1.0 / 0.6) < 1e-12));
        for (double e : row.to_vector()) CHECK(e == first);
        Philox4 w = philox_for(8, 0, uint64_t(bi));
        CHECK((first != 0.0) == (uniform01(w.v[0], w.v[1]) >= 0.4));
    }
}

TEST_CASE("indexing, shape, dropout and conv2d errors name the op and the shapes") {
    Tensor x = Tensor::zeros({3, 4});
    CHECK_THROWS_WITH_AS(gather(x, 1, Tensor::from_vector_i64({0, 4, 1}, {3, 1})),
                         doctest::Contains("gather: index 4"), vg::Error);
    CHECK_THROWS_WITH_AS(gather(x, 1, Tensor::from_vector_i64({0, 4, 1}, {3, 1})),
                         doctest::Contains("[0, 4)"), vg::Error);
    CHECK_THROWS_WITH_AS(gather(x, 1, Tensor::zeros({5, 1}, DType::I64)),
                         doctest::Contains("larger than the input"), vg::Error);
    CHECK_THROWS_WITH_AS(gather(x, 0, Tensor::zeros({3}, DType::I64)), doctest::Contains("rank"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(gather(x, 0, Tensor::zeros({3, 4})), doctest::Contains("int64"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(index_select(x, 0, Tensor::from_vector_i64({-1}, {1})),
                         doctest::Contains("index_select: index -1"), vg::Error);
    CHECK_THROWS_WITH_AS(index_select(x, 0, Tensor::zeros({1, 1}, DType::I64)),
                         doctest::Contains("1-D"), vg::Error);
    CHECK_THROWS_WITH_AS(one_hot(Tensor::from_vector_i64({0, 10}, {2}), 10),
                         doctest::Contains("one_hot: index 10"), vg::Error);
    CHECK_THROWS_WITH_AS(one_hot(Tensor::from_vector_i64({0}, {1}), 0),
                         doctest::Contains("num_classes"), vg::Error);

    CHECK_THROWS_WITH_AS(
        cat({x, Tensor::zeros({3, 5})}, 0),
        doctest::Contains("cat: tensor 1 has shape [3, 5] but tensor 0 has shape [3, 4]"),
        vg::Error);
    CHECK_THROWS_WITH_AS(cat({x, Tensor::zeros({3, 4}, DType::F64)}, 0), doctest::Contains("cat"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(cat({}, 0), doctest::Contains("cat: expected a non-empty"), vg::Error);
    CHECK_THROWS_WITH_AS(stack({x, Tensor::zeros({4, 3})}, 0),
                         doctest::Contains("stack: tensor 1 has shape [4, 3]"), vg::Error);
    CHECK_THROWS_WITH_AS(split(x, {1, 2}, 1), doctest::Contains("split: chunk sizes sum to 3"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(unbind(Tensor::scalar(1.0), 0),
                         doctest::Contains("unbind: cannot unbind a 0-d"), vg::Error);
    CHECK_THROWS_WITH_AS(unbind(x, 2), doctest::Contains("unbind"), vg::Error);
    CHECK_THROWS_WITH_AS(pad(x, {1}), doctest::Contains("pad"), vg::Error);
    CHECK_THROWS_WITH_AS(pad(x, {1, -1}), doctest::Contains("pad: negative"), vg::Error);

    CHECK_THROWS_WITH_AS(dropout(x, 1.0, true), doctest::Contains("dropout: probability p = 1"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(dropout(x, -0.1, false), doctest::Contains("dropout"), vg::Error);
    CHECK_THROWS_WITH_AS(drop_path(x, 1.5, true), doctest::Contains("drop_path"), vg::Error);

    Tensor img = Tensor::zeros({1, 3, 8, 8}), w = Tensor::zeros({4, 2, 3, 3});
    CHECK_THROWS_WITH_AS(
        conv2d(img, w),
        doctest::Contains("conv2d: input [1, 3, 8, 8] has 3 channels but weight [4, 2, 3, 3]"),
        vg::Error);
    CHECK_THROWS_WITH_AS(conv2d(img, Tensor::zeros({4, 3, 3, 3}), Tensor::zeros({3})),
                         doctest::Contains("conv2d: bias [3]"), vg::Error);
    CHECK_THROWS_WITH_AS(conv2d(img, Tensor::zeros({4, 3, 9, 9})), doctest::Contains("larger than"),
                         vg::Error);
    CHECK_THROWS_WITH_AS(conv2d(Tensor::zeros({3, 8, 8}), w), doctest::Contains("[B, C, H, W]"),
                         vg::Error);
}
