// Op table rows for conv2d (padded, strided, patch-embedding, grouped, depthwise and 1x1
// geometries, with and without bias, reaching each of its three paths) and batch_norm (training
// with and without running statistics, eval, NCHW and [B, C]).
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
        // Grouped: im2col + a GEMM per group.
        {"conv2d_groups2_p1",
         {{2, 4, 5, 5}, {6, 2, 3, 3}, {6}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], x[2], 1, 1, 2); }},
        {"conv2d_groups2_s2_nobias",
         {{1, 4, 6, 5}, {4, 2, 3, 3}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], {}, 2, 1, 2); }},
        // Depthwise, stride 1: the direct kernels (3x3 as Refiner, 11x11 as FCViT, non-square).
        {"conv2d_depthwise3x3_p1",
         {{2, 3, 5, 6}, {3, 1, 3, 3}, {3}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], x[2], 1, 1, 3); }},
        {"conv2d_depthwise5x5_p1_nobias",
         {{2, 2, 6, 5}, {2, 1, 5, 5}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], {}, 1, 1, 2); }},
        {"conv2d_depthwise11x11_p5_on_4x4",
         {{2, 2, 4, 4}, {2, 1, 11, 11}, {2}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], x[2], 1, 5, 2); }},
        {"conv2d_depthwise3x2_p2",
         {{1, 3, 4, 5}, {3, 1, 3, 2}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], {}, 1, 2, 3); }},
        // Depthwise with stride 2 or a channel multiplier: the grouped im2col path.
        {"conv2d_depthwise_s2",
         {{1, 3, 6, 6}, {3, 1, 3, 3}, {3}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], x[2], 2, 1, 3); }},
        {"conv2d_depthwise_multiplier2",
         {{1, 2, 5, 5}, {4, 1, 3, 3}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], {}, 1, 1, 2); }},
        // 1x1: one GEMM over the channels (unpadded stride 1), else im2col.
        {"conv2d_1x1",
         {{2, 3, 4, 5}, {4, 3, 1, 1}, {4}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], x[2]); }},
        {"conv2d_1x1_groups3_nobias",
         {{2, 6, 3, 3}, {3, 2, 1, 1}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], {}, 1, 0, 3); }},
        {"conv2d_1x1_s2_p1",
         {{1, 3, 5, 4}, {2, 3, 1, 1}, {2}},
         -1,
         1,
         [](const Ts& x) { return conv2d(x[0], x[1], x[2], 2, 1); }},
    };
}

std::vector<OpCase> batchnorm_op_cases() {
    using Ts = std::vector<Tensor>;
    // Running statistics live on the input's device, like a module's buffers.
    auto running = [](const Tensor& x, std::vector<double> v) {
        return Tensor::from_vector(v, {int64_t(v.size())}, x.dtype(), x.device());
    };
    return {
        {"batch_norm_train_affine",
         {{3, 2, 3, 4}, {2}, {2}},
         -2,
         2,
         [](const Ts& x) { return batch_norm(x[0], x[1], x[2], {}, {}, true); }},
        {"batch_norm_train_running_stats",
         {{2, 3, 2, 3}, {3}, {3}},
         -2,
         2,
         [running](const Ts& x) {
             return batch_norm(x[0], x[1], x[2], running(x[0], {0.1, -0.2, 0.3}),
                               running(x[0], {1.5, 0.5, 2.0}), true, 0.2, 1e-3);
         }},
        {"batch_norm_train_plain",
         {{4, 3, 5}},
         -2,
         2,
         [](const Ts& x) { return batch_norm(x[0], {}, {}, {}, {}, true); }},
        // Identical broadcast rows would leave a channel with no variance: not a useful check.
        {"batch_norm_train_2d",
         {{5, 3}, {3}, {3}},
         -2,
         2,
         [](const Ts& x) { return batch_norm(x[0], x[1], x[2], {}, {}, true); },
         1e-5,
         1e-3,
         /*broadcast_ok=*/false},
        {"batch_norm_eval",
         {{2, 3, 3, 2}, {3}, {3}},
         -2,
         2,
         [running](const Ts& x) {
             return batch_norm(x[0], x[1], x[2], running(x[0], {0.1, -0.2, 0.3}),
                               running(x[0], {1.5, 0.5, 2.0}), false);
         }},
    };
}

}  // namespace vg::test
