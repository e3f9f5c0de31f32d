// CUDA against CPU on shapes larger than the op table's: long rows and columns take the kernels'
// other paths (per-row blocks, row splits, multi-split LayerNorm weight gradients, rows longer
// than a warp, batched GEMMs with transposed and broadcast operands). Skipped without a device.
#include "tests/cuda/parity.h"
#include "tests/helpers.h"

using namespace vg;
using namespace vg::test;

TEST_CASE("cuda shapes: long reductions, rows and GEMMs match the CPU") {
    VG_REQUIRE_CUDA();
    using Ts = std::vector<Tensor>;
    for (DType dt : {DType::F64, DType::F32}) {
        // sum: a block per long row; row splits for few outputs; a thread per column otherwise.
        check_parity(
            "sum last dim", {{3, 1000}}, [](const Ts& x) { return sum(x[0], {1}); }, dt);
        check_parity(
            "sum over rows (bias gradient)", {{2000, 24}},
            [](const Ts& x) { return sum(x[0], {0}); }, dt);
        check_parity(
            "sum middle dim", {{3, 700, 5}}, [](const Ts& x) { return sum(x[0], {1}); }, dt);
        check_parity(
            "sum all", {{300, 301}}, [](const Ts& x) { return sum(x[0]); }, dt);
        check_parity(
            "bias add", {{40, 50, 24}, {24}},
            [](const Ts& x) { return mul(add(x[0], x[1]), x[0]); }, dt);
        check_parity(
            "max long dim", {{4, 900}}, [](const Ts& x) { return max(x[0], 1).values; }, dt);
        // softmax / layer_norm rows longer than a warp, and many rows (several dw/db splits).
        check_parity(
            "softmax", {{70, 200}}, [](const Ts& x) { return softmax(x[0]); }, dt);
        check_parity(
            "log_softmax", {{70, 45}}, [](const Ts& x) { return log_softmax(x[0]); }, dt);
        check_parity(
            "layer_norm", {{300, 70}, {70}, {70}},
            [](const Ts& x) { return layer_norm(x[0], x[1], x[2]); }, dt);
        // Batched GEMMs: transposed operands and a broadcast (batch stride 0) weight.
        check_parity(
            "matmul batched, transposed", {{6, 40, 33}, {6, 40, 27}},
            [](const Ts& x) { return matmul(x[0].transpose(-1, -2), x[1]); }, dt);
        check_parity(
            "linear over tokens", {{5, 65, 48}, {96, 48}, {96}},
            [](const Ts& x) { return linear(x[0], x[1], x[2]); }, dt);
        check_parity(
            "attention scores", {{4, 3, 65, 16}, {4, 3, 65, 16}},
            [](const Ts& x) { return softmax(matmul(x[0], x[1].transpose(-1, -2))); }, dt);
        check_parity(
            "conv2d", {{2, 3, 17, 15}, {8, 3, 3, 3}, {8}},
            [](const Ts& x) { return conv2d(x[0], x[1], x[2], 2, 1); }, dt);
    }
}
