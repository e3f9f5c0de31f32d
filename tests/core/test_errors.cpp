// Bad input never crashes: each mistake throws vg::Error naming the op and the shapes.
#include "tests/helpers.h"

using namespace vg;

TEST_CASE("shape, dtype and device mismatches name the op and the shapes") {
    Tensor a = Tensor::ones({2, 3});
    Tensor b = Tensor::ones({4, 3});
    CHECK_THROWS_WITH_AS(
        add(a, b), doctest::Contains("add: shapes [2, 3] and [4, 3] cannot be broadcast"), Error);
    CHECK_THROWS_WITH_AS(
        mul(a, Tensor::ones({2, 3}, DType::F64)),
        doctest::Contains("mul: dtype mismatch: float32[2, 3] on cpu and float64[2, 3]"), Error);
    CHECK_THROWS_WITH_AS(
        exp(Tensor::ones({2}, DType::I64)),
        doctest::Contains("exp: expected a float32 or float64 tensor, got int64[2]"), Error);
    CHECK_THROWS_WITH_AS(a.reshape({4, 2}),
                         doctest::Contains("reshape: cannot reshape float32[2, 3]"), Error);
    CHECK_THROWS_WITH_AS(a.expand({2, 4}), doctest::Contains("expand: cannot expand float32[2, 3]"),
                         Error);
    CHECK_THROWS_WITH_AS(a.permute({0, 0}), doctest::Contains("permute"), Error);
    CHECK_THROWS_WITH_AS(a.copy_(b), doctest::Contains("copy_"), Error);
    CHECK_THROWS_WITH_AS(Device::parse("gpu"), doctest::Contains("unknown device 'gpu'"), Error);
#if !VG_WITH_CUDA
    CHECK_THROWS_WITH_AS(a.to(Device::cuda()), doctest::Contains("without CUDA"), Error);
#endif
}

TEST_CASE("out-of-range dims and indices") {
    Tensor a = Tensor::ones({2, 3});
    CHECK_THROWS_WITH_AS(
        sum(a, {2}), doctest::Contains("sum: dim 2 out of range for a tensor with 2 dims"), Error);
    CHECK_THROWS_WITH_AS(a.transpose(0, -3), doctest::Contains("transpose: dim -3 out of range"),
                         Error);
    CHECK_THROWS_WITH_AS(a.narrow(1, 2, 2), doctest::Contains("narrow: range [2, 4) out of bounds"),
                         Error);
    CHECK_THROWS_WITH_AS(a.select(0, 5), doctest::Contains("select: index 5 out of range"), Error);
    CHECK_THROWS_WITH_AS(a.at({0, 3}), doctest::Contains("Tensor::at: index 3 out of range"),
                         Error);
    CHECK_THROWS_WITH_AS(a.item(), doctest::Contains("one-element"), Error);
    CHECK_THROWS_WITH_AS(var(Tensor::ones({1, 1}), {1}), doctest::Contains("var: 1 elements"),
                         Error);
    CHECK_THROWS_WITH_AS(Tensor().shape(), doctest::Contains("undefined tensor"), Error);
}
