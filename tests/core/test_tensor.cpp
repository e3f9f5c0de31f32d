// Factories, element access, dtype conversion, printing and the counter-based generator.
#include <cmath>

#include "tests/helpers.h"

using namespace vg;

TEST_CASE("factories fill as documented") {
    CHECK(Tensor::zeros({2, 2}).to_vector() == std::vector<double>(4, 0.0));
    CHECK(Tensor::ones({3}, DType::F64).to_vector() == std::vector<double>(3, 1.0));
    CHECK(Tensor::full({2}, 2.5).to_vector() == std::vector<double>{2.5, 2.5});
    CHECK(Tensor::arange(4, DType::I64).to_vector_i64() == std::vector<int64_t>{0, 1, 2, 3});
    CHECK(Tensor::scalar(3.0).item() == 3.0);
    Tensor v = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
    CHECK(v.at({1, 0}) == 4.0);
    CHECK(v.to(DType::F32).dtype() == DType::F32);
    CHECK(v.to(DType::I64).to_vector_i64() == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("printing shows values, shape, dtype and device") {
    Tensor v = Tensor::from_vector({1, 2.5, 3, 4}, {2, 2}, DType::F64);
    std::string s = fmt::format("{}", v);
    CHECK(s.find("2.5") != std::string::npos);
    CHECK(s.find("float64[2, 2] on cpu") != std::string::npos);
    Tensor big = Tensor::arange(100, DType::F32);
    CHECK(big.str().find("...") != std::string::npos);
}

TEST_CASE("random streams: seeded, reproducible, order independent, right distribution") {
    Generator g1(42), g2(42), g3(43);
    Tensor a = Tensor::randn({1000}, DType::F64, Device::cpu(), &g1);
    Tensor b = Tensor::randn({1000}, DType::F64, Device::cpu(), &g2);
    Tensor c = Tensor::randn({1000}, DType::F64, Device::cpu(), &g3);
    CHECK(a.to_vector() == b.to_vector());
    CHECK(a.to_vector() != c.to_vector());
    // Element i depends only on (seed, offset + i): drawing 600 then 400 equals drawing 1000.
    Generator g4(42);
    Tensor p1 = Tensor::randn({600}, DType::F64, Device::cpu(), &g4);
    Tensor p2 = Tensor::randn({400}, DType::F64, Device::cpu(), &g4);
    std::vector<double> joined = p1.to_vector(), tail = p2.to_vector();
    joined.insert(joined.end(), tail.begin(), tail.end());
    CHECK(joined == a.to_vector());

    Generator g5(7);
    Tensor n = Tensor::randn({200000}, DType::F64, Device::cpu(), &g5);
    CHECK(mean(n).item() == doctest::Approx(0.0).epsilon(0.01).scale(1.0));
    CHECK(var(n).item() == doctest::Approx(1.0).epsilon(0.01));
    Tensor u = Tensor::rand({200000}, DType::F64, Device::cpu(), &g5);
    CHECK(mean(u).item() == doctest::Approx(0.5).epsilon(0.01));
    CHECK(max(u).item() < 1.0);
    Tensor t = Tensor::trunc_normal({200000}, 0.0, 1.0, -1.0, 1.5, DType::F64, Device::cpu(), &g5);
    CHECK(max(t).item() <= 1.5);
    CHECK(-max(neg(t)).item() >= -1.0);
    // timm's trunc_normal_(std=0.02, a=-2, b=2): the bounds are absolute, so it is ~N(0, 0.02^2).
    Tensor w = Tensor::trunc_normal({200000}, 0.0, 0.02, -2.0, 2.0, DType::F64, Device::cpu(), &g5);
    CHECK(std::sqrt(var(w).item()) == doctest::Approx(0.02).epsilon(0.01));
}
