// Op table rows for conv2d: padded, strided and patch-embedding geometries, with and without bias.
#include "tests/ops/op_cases.h"

namespace vg::test {

std::vector<OpCase> conv_op_cases() {
    using Ts = std::vector<Tensor>;
    return {
        {"conv2d_s1_p1_bias",
         {{2, 2, 4, 4}, {3, 2, 3, 3}, {3}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], x[2], 1, 1); }},
        {"conv2d_s1_p1_nobias",
         {{1, 2, 4, 3}, {2, 2, 3, 3}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], {}, 1, 1); }},
        {"conv2d_s2_p0",
         {{2, 2, 5, 5}, {2, 2, 3, 3}, {2}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], x[2], 2, 0); }},
        {"conv2d_s2_p0_nobias",
         {{1, 3, 6, 5}, {2, 3, 2, 3}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], {}, 2, 0); }},
        {"conv2d_patch4_on_8x8",
         {{1, 3, 8, 8}, {4, 3, 4, 4}, {4}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], x[2], 4, 0); }},
    };
}

}  // namespace vg::test
