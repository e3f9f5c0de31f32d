// Conv2d (groups, bias), BatchNorm2d (parameters and buffers, train/eval, PyTorch's running
// statistics) and LayerScale / scale_channels: names, init and values.
#include <cmath>

#include "nn/batchnorm.h"
#include "nn/conv.h"
#include "nn/scale.h"
#include "tests/nn/nn_helpers.h"

using namespace vg;
using namespace vg::nn;
using namespace vg::test;

TEST_CASE("Conv2d: groups, optional bias and PyTorch's default init bound") {
    manual_seed(1);
    Conv2d dw(8, 8, 3, 1, 1, /*groups=*/8, /*bias=*/false);
    CHECK(dw.weight.shape() == Shape{8, 1, 3, 3});
    CHECK_FALSE(dw.bias.defined());
    CHECK(dw.state_dict().size() == 1);
    double bound = 1.0 / 3.0;  // fan_in = 1 * 3 * 3
    CHECK(max(abs(dw.weight)).item() <= bound);
    CHECK(max(abs(dw.weight)).item() > 0.8 * bound);
    Conv2d grouped(4, 6, 1, 1, 0, 2);
    CHECK(grouped.weight.shape() == Shape{6, 2, 1, 1});
    CHECK(max(abs(grouped.bias)).item() <= 1.0 / std::sqrt(2.0));
    Tensor x = uniform({2, 4, 5, 5}, -1, 1, DType::F32, 2);
    CHECK(grouped.forward(x).shape() == Shape{2, 6, 5, 5});
    CHECK_THROWS_WITH_AS(Conv2d(4, 6, 3, 1, 1, 4), doctest::Contains("Conv2d: invalid config"),
                         Error);
}

TEST_CASE("BatchNorm2d: PyTorch's names, buffers and running statistics") {
    BatchNorm2d bn(3);
    std::vector<std::string> params, buffers;
    for (auto& [n, _] : bn.named_parameters()) params.push_back(n);
    for (auto& [n, _] : bn.named_buffers()) buffers.push_back(n);
    CHECK(params == std::vector<std::string>{"weight", "bias"});
    CHECK(buffers ==
          std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
    CHECK(bn.running_var.to_vector() == std::vector<double>{1, 1, 1});
    CHECK(bn.num_batches_tracked.dtype() == DType::I64);
    CHECK(bn.num_batches_tracked.dim() == 0);

    Tensor x = uniform({4, 3, 2, 2}, -1, 3, DType::F32, 3);
    bn.train();
    Tensor y = bn.forward(x);
    // Training output: zero mean and unit (biased) variance per channel.
    Tensor m = mean(y, {0, 2, 3}), v = var(y, {0, 2, 3}, 0);
    for (double e : m.to_vector()) CHECK(std::fabs(e) < 1e-5);
    for (double e : v.to_vector()) CHECK(e == doctest::Approx(1.0).epsilon(1e-3));
    CHECK(bn.num_batches_tracked.item() == 1);
    // running_var moved 10% of the way from 1 towards the unbiased batch variance.
    Tensor bv = var(x, {0, 2, 3}, 1);
    std::vector<double> rv = bn.running_var.to_vector(), want = bv.to_vector();
    for (size_t c = 0; c < 3; ++c) CHECK(rv[c] == doctest::Approx(0.9 + 0.1 * want[c]));
    bn.eval();
    Tensor ye = bn.forward(x);
    CHECK(bn.num_batches_tracked.item() == 1);
    CHECK(ye.shape() == x.shape());
    CHECK_THROWS_WITH_AS(bn.forward(Tensor::zeros({2, 3, 4})), doctest::Contains("BatchNorm2d"),
                         Error);
}

TEST_CASE("LayerScale and scale_channels") {
    LayerScale ls(4, 1e-5);
    CHECK(ls.state_dict().count("gamma") == 1);
    Tensor x = Tensor::ones({2, 3, 4});
    for (double v : ls.forward(x).to_vector()) CHECK(v == doctest::Approx(1e-5));
    Tensor g = Tensor::from_vector({1, 2, 3}, {3}, DType::F64);
    Tensor y = scale_channels(Tensor::ones({2, 3, 2, 2}, DType::F64), g, 1);  // NCHW channels
    CHECK(y.at({1, 2, 1, 0}) == 3.0);
    CHECK_THROWS_WITH_AS(scale_channels(x, g, -1), doctest::Contains("scale_channels: gamma"),
                         Error);
    CHECK_THROWS_WITH_AS(scale_channels(x, g, 5), doctest::Contains("out of range"), Error);
}
