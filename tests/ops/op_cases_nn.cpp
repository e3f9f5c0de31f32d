// Op table rows for matmul, linear, gated_mix, multi_head_attention, softmax, layer_norm and the
// cross-entropy losses (conv2d rows live in op_cases_conv.cpp).
#include "tests/ops/op_cases.h"

namespace vg::test {

namespace {
using Ts = std::vector<Tensor>;

Tensor labels_for(const Tensor& logits, std::vector<int64_t> v) {
    return Tensor::from_vector_i64(v, {int64_t(v.size())}, logits.device());
}
}  // namespace

std::vector<OpCase> nn_op_cases() {
    auto mm = [](const Ts& x) { return matmul(x[0], x[1]); };
    return {
        {"matmul_2d", {{3, 4}, {4, 5}}, -2, 2, mm},
        {"matmul_batched_3d", {{2, 3, 4}, {2, 4, 5}}, -2, 2, mm},
        {"matmul_broadcast_batch", {{2, 3, 4, 5}, {3, 5, 6}}, -2, 2, mm},
        {"matmul_batch_size1_broadcast", {{2, 1, 3, 4}, {3, 4, 2}}, -2, 2, mm},
        {"matmul_3d_by_2d", {{2, 3, 4}, {4, 5}}, -2, 2, mm},
        {"matmul_2d_by_3d", {{3, 4}, {2, 4, 5}}, -2, 2, mm},
        {"matmul_1d_by_2d", {{4}, {4, 5}}, -2, 2, mm},
        {"matmul_2d_by_1d", {{3, 4}, {4}}, -2, 2, mm},
        {"matmul_scaled_broadcast",
         {{2, 3, 4, 5}, {3, 5, 6}},
         -2,
         2,
         [](const Ts& x) { return matmul(x[0], x[1], -0.37); }},
        {"matmul_1d_by_1d", {{4}, {4}}, -2, 2, mm},
        {"matmul_1d_by_3d", {{4}, {2, 4, 3}}, -2, 2, mm},
        {"matmul_3d_by_1d", {{2, 3, 4}, {4}}, -2, 2, mm},
        {"linear_bias",
         {{2, 3, 4}, {5, 4}, {5}},
         -2,
         2,
         [](const Ts& x) { return linear(x[0], x[1], x[2]); }},
        {"linear_nobias", {{3, 4}, {5, 4}}, -2, 2, [](const Ts& x) { return linear(x[0], x[1]); }},
        {"linear_1d_input",
         {{4}, {3, 4}, {3}},
         -2,
         2,
         [](const Ts& x) { return linear(x[0], x[1], x[2]); }},
        // Positive maps (as attention rows are), so the renormalising row sums stay away from 0.
        {"gated_mix_normalized",
         {{2, 3, 4, 5}, {3, 4, 5}, {3}},
         0.2,
         1.0,
         [](const Ts& x) { return gated_mix(x[0], x[1], sigmoid(x[2]), true); }},
        {"gated_mix_plain",
         {{2, 3, 4, 5}, {3, 4, 5}, {3}},
         0.2,
         1.0,
         [](const Ts& x) { return gated_mix(x[0], x[1], x[2], false); }},
        // q, k, v in one [B, T, 3C] projection (2 heads of d = 2), or q, k beside a separate v;
        // then GPSA's gated form over 5 images (one more than a backward image block).
        {"multi_head_attention_qkv",
         {{2, 5, 12}},
         -2,
         2,
         [](const Ts& x) { return multi_head_attention(x[0], {}, 2, 0.7); }},
        {"multi_head_attention_qk_v",
         {{3, 5, 8}, {3, 5, 4}},
         -2,
         2,
         [](const Ts& x) { return multi_head_attention(x[0], x[1], 2, 0.7); }},
        {"multi_head_attention_gated_normalized",
         {{5, 4, 12}, {5, 4, 6}, {3, 4, 4}, {3}},
         0.2,
         1.0,
         [](const Ts& x) {
             return multi_head_attention(x[0], x[1], 3, 0.6, x[2], sigmoid(x[3]), true);
         }},
        {"multi_head_attention_gated_plain",
         {{5, 4, 12}, {5, 4, 6}, {3, 4, 4}, {3}},
         0.2,
         1.0,
         [](const Ts& x) {
             return multi_head_attention(x[0], x[1], 3, 0.6, x[2], sigmoid(x[3]), false);
         }},
        {"softmax_last", {{3, 5}}, -2, 2, [](const Ts& x) { return softmax(x[0], -1); }},
        {"softmax_dim0", {{4, 3}}, -2, 2, [](const Ts& x) { return softmax(x[0], 0); }},
        {"softmax_3d_dim1", {{2, 3, 4}}, -2, 2, [](const Ts& x) { return softmax(x[0], 1); }},
        {"log_softmax_last", {{3, 5}}, -2, 2, [](const Ts& x) { return log_softmax(x[0], -1); }},
        {"log_softmax_dim0", {{4, 3}}, -2, 2, [](const Ts& x) { return log_softmax(x[0], 0); }},
        {"layer_norm_affine",
         {{3, 6}, {6}, {6}},
         -2,
         2,
         [](const Ts& x) { return layer_norm(x[0], x[1], x[2], 1e-5); }},
        {"layer_norm_plain_3d",
         {{2, 3, 5}},
         -2,
         2,
         [](const Ts& x) { return layer_norm(x[0], {}, {}, 1e-6); }},
        {"layer_norm_weight_only",
         {{4, 5}, {5}},
         -2,
         2,
         [](const Ts& x) { return layer_norm(x[0], x[1], {}, 1e-5); }},
        {"cross_entropy",
         {{4, 5}},
         -2,
         2,
         [](const Ts& x) {
             return cross_entropy(x[0], labels_for(x[0], {1, 0, 4, 2}));
         }},
        {"cross_entropy_smooth0.1",
         {{4, 5}},
         -2,
         2,
         [](const Ts& x) {
             return cross_entropy(x[0], labels_for(x[0], {3, 3, 0, 1}), 0.1);
         }},
        {"cross_entropy_soft",
         {{4, 5}, {4, 5}},
         -2,
         2,
         [](const Ts& x) { return cross_entropy_soft(x[0], softmax(x[1], 1)); }},
    };
}

}  // namespace vg::test
