// View semantics: views share storage, writes go through, strides and offsets are as expected.
#include "tests/helpers.h"

using namespace vg;

TEST_CASE("views share storage and copy nothing") {
    Tensor x = Tensor::arange(24, DType::F64).reshape({2, 3, 4});
    CHECK(x.is_contiguous());
    CHECK(x.strides() == Shape{12, 4, 1});

    Tensor t = x.transpose(0, 2);  // [4, 3, 2]
    CHECK(t.shape() == Shape{4, 3, 2});
    CHECK(t.strides() == Shape{1, 4, 12});
    CHECK_FALSE(t.is_contiguous());
    CHECK(t.storage() == x.storage());
    CHECK(t.at({3, 2, 1}) == x.at({1, 2, 3}));

    Tensor n = x.narrow(2, 1, 2);  // [2, 3, 2] at offset 1
    CHECK(n.offset() == 1);
    CHECK(n.at({1, 2, 1}) == 12 + 8 + 2);

    Tensor e = Tensor::arange(3, DType::F64).reshape({3, 1}).expand({3, 5});
    CHECK(e.strides() == Shape{1, 0});
    CHECK(e.at({2, 4}) == 2.0);

    Tensor u = x.unsqueeze(1);
    CHECK(u.shape() == Shape{2, 1, 3, 4});
    CHECK(u.squeeze(1).shape() == x.shape());
    CHECK(x.select(1, 2).shape() == Shape{2, 4});
    CHECK(x.select(1, 2).at({1, 3}) == 12 + 8 + 3);
    CHECK(x.permute({1, 2, 0}).shape() == Shape{3, 4, 2});
    CHECK(x.flatten(1).shape() == Shape{2, 12});
    CHECK(x.reshape({-1, 6}).shape() == Shape{4, 6});
}

TEST_CASE("writes through a view are visible in the base") {
    Tensor x = Tensor::zeros({3, 4}, DType::F32);
    Tensor col = x.narrow(1, 2, 1);
    col.fill_(5.0);
    Tensor row = x.select(0, 1);
    row.copy_(Tensor::from_vector({1, 2, 3, 4}, {4}));
    CHECK(x.at({0, 2}) == 5.0f);
    CHECK(x.at({2, 2}) == 5.0f);
    CHECK(x.at({1, 2}) == 3.0f);
    CHECK(x.at({1, 0}) == 1.0f);
    CHECK(x.at({0, 0}) == 0.0f);
    // A transposed view written through copy_ lands transposed in the base.
    Tensor y = Tensor::zeros({2, 3}, DType::F64);
    y.transpose(0, 1).copy_(Tensor::arange(6, DType::F64).reshape({3, 2}));
    CHECK(y.to_vector() == std::vector<double>{0, 2, 4, 1, 3, 5});
}

TEST_CASE("contiguous copies only when needed - reshape of a non-contiguous view copies") {
    Tensor x = Tensor::arange(6, DType::F64).reshape({2, 3});
    CHECK(x.contiguous().storage() == x.storage());
    Tensor t = x.transpose(0, 1);
    Tensor c = t.contiguous();
    CHECK(c.storage() != x.storage());
    CHECK(c.to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
    CHECK(t.reshape({6}).to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
    CHECK_THROWS_WITH_AS(t.view({6}), doctest::Contains("without a copy"), Error);
    // A narrow along the last dim keeps row strides, so viewing the outer dims is still free.
    Tensor z = Tensor::arange(24, DType::F64).reshape({2, 3, 4}).narrow(2, 0, 2);
    CHECK(z.view({6, 2}).storage() == z.storage());
}
