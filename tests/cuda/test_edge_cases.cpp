// CUDA on the inputs that take kernels off their usual path: logits of magnitude 1e4, fully
// masked rows, rows of thousands of columns, tensors with a zero extent, GPSA's gated mix at its
// real shapes, gather / index_select adjoints with repeated indices over many blocks, and a
// tensor longer than one grid-stride pass. Skipped without a device.
#include "tests/cuda/parity.h"
#include "tests/helpers.h"
#include "tests/ops/edge_checks.h"

using namespace vg;
using namespace vg::test;

namespace {
using Ts = std::vector<Tensor>;
}  // namespace

TEST_CASE(
    "cuda edge rows: logits of magnitude 1e4, fully masked and NaN rows, rows of 4096 and more") {
    VG_REQUIRE_CUDA();
    for (DType dt : {DType::F64, DType::F32}) {
        check_large_logits(Device::cuda(), dt);
        check_masked_rows(Device::cuda(), dt);
        check_nan_rows(Device::cuda(), dt);
        check_long_rows(Device::cuda(), dt);
        // Forward and backward against the CPU, logits scaled to +-1e4.
        check_parity(
            "log_softmax of logits to 1e4", {{8, 300}},
            [](const Ts& x) { return log_softmax(mul_scalar(x[0], 5000)); }, dt);
        check_parity(
            "softmax over 4096 columns", {{4, 4096}}, [](const Ts& x) { return softmax(x[0]); },
            dt);
        check_parity(
            "log_softmax over 5000 columns", {{3, 5000}},
            [](const Ts& x) { return log_softmax(x[0]); }, dt);
    }
}

TEST_CASE("cuda: ops on tensors with a zero extent match the CPU's answers") {
    VG_REQUIRE_CUDA();
    for (DType dt : {DType::F64, DType::F32}) {
        check_zero_extent_ops(Device::cuda(), dt);
        check_gated_mix_without_keys(Device::cuda(), dt);
    }
}

TEST_CASE("cuda gated_mix at GPSA's shapes (B 64, H 4, N 65 and 197)") {
    VG_REQUIRE_CUDA();
    // Content and positional attention are row-softmaxes and the gate a sigmoid, as in GPSA.
    auto mix = [](bool normalize) {
        return [normalize](const Ts& x) {
            return gated_mix(softmax(x[0]), softmax(x[1]), sigmoid(x[2]), normalize);
        };
    };
    for (DType dt : {DType::F64, DType::F32}) {
        check_parity("gated_mix, N 65, normalised", {{64, 4, 65, 65}, {4, 65, 65}, {4}}, mix(true),
                     dt);
        check_parity("gated_mix, N 65", {{64, 4, 65, 65}, {4, 65, 65}, {4}}, mix(false), dt);
    }
    check_parity("gated_mix, N 197, normalised", {{64, 4, 197, 197}, {4, 197, 197}, {4}}, mix(true),
                 DType::F32);
}

TEST_CASE("cuda gather / index_select adjoints: repeated indices over many blocks, bit for bit") {
    VG_REQUIRE_CUDA();
    Device d = Device::cuda();
    for (DType dt : {DType::F64, DType::F32}) {
        INFO(dtype_name(dt));
        // Runs f on the CPU and twice on CUDA; the gradients of x must be identical each time
        // (no atomics: every (o, i) column adds its rows in order, as the CPU does).
        auto check = [&](const char* what, const Shape& xs,
                         const std::function<Tensor(const Tensor&)>& f) {
            INFO(what);
            Tensor x = uniform(xs, -1, 1, dt, 31);
            std::vector<std::vector<double>> grads;
            for (Device dev : {Device::cpu(), d, d}) {
                Tensor leaf = x.to(dev).requires_grad_();
                Tensor y = f(leaf);
                y.backward(uniform(y.shape(), -1, 1, dt, 32).to(dev));
                grads.push_back(leaf.grad().cpu().to_vector());
            }
            CHECK(grads[1] == grads[0]);
            CHECK(grads[2] == grads[1]);
        };
        // gather along dim 1: 3 x 500 columns (6 blocks), each index row hitting 7 rows 40 times.
        std::vector<int64_t> gi(3 * 40 * 500);
        for (size_t k = 0; k < gi.size(); ++k) gi[k] = int64_t((k * 7919) % 7);
        check("gather", {3, 7, 500}, [&](const Tensor& x) {
            return gather(x, 1, Tensor::from_vector_i64(gi, {3, 40, 500}, x.device()));
        });
        std::vector<int64_t> si = {0, 3, 3, 1, 3, 0, 4, 3, 3, 2};
        check("index_select dim 1", {6, 5, 300}, [&](const Tensor& x) {
            return index_select(x, 1, Tensor::from_vector_i64(si, {10}, x.device()));
        });
        check("index_select dim 0 (embedding-like)", {5, 700}, [&](const Tensor& x) {
            return index_select(x, 0, Tensor::from_vector_i64(si, {10}, x.device()));
        });
    }
}

TEST_CASE("cuda: a tensor longer than one grid-stride pass is written to its last element") {
    VG_REQUIRE_CUDA();
    Device d = Device::cuda();
    // cuda/launch.cuh caps a launch at 65535 * 8 blocks of 256 threads; go past it.
    const int64_t cap = int64_t(65535) * 8 * 256, n = cap + 12345;
    Tensor x = Tensor::full({n}, 1.0, DType::F32, d);  // fill: strided kernel
    Tensor y = add_scalar(x, 1.0);                     // unary: contiguous kernel
    Tensor z = y.to(DType::F64);                       // copy with a cast
    CHECK(sum(z).item() == double(2 * n));             // exact: a sum of 2s in float64
    CHECK(y.narrow(0, n - 3, 3).cpu().to_vector() == std::vector<double>{2, 2, 2});
    Generator gc(5), gg(5);
    Tensor rc = Tensor::rand({n}, DType::F32, Device::cpu(), &gc);
    Tensor rg = Tensor::rand({n}, DType::F32, d, &gg);
    CHECK(rg.narrow(0, n - 1000, 1000).cpu().to_vector() ==
          rc.narrow(0, n - 1000, 1000).to_vector());
}
