// Op table rows for group_norm (1 group as FCViT uses it, several groups, with and without the
// affine parameters, NCHW and [B, C, L]) and standardize (FCViT's global-context standardisation
// over (groups, positions) per sample, unbiased and biased, with and without epsilon).
#include "tests/ops/op_cases.h"

namespace vg::test {

std::vector<OpCase> groupnorm_op_cases() {
    using Ts = std::vector<Tensor>;
    return {
        {"group_norm_1group_affine",
         {{2, 4, 3, 3}, {4}, {4}},
         -2,
         2,
         [](const Ts& x) { return group_norm(x[0], 1, x[1], x[2], 1e-5); }},
        {"group_norm_2groups_affine",
         {{3, 4, 2, 3}, {4}, {4}},
         -2,
         2,
         [](const Ts& x) { return group_norm(x[0], 2, x[1], x[2], 1e-5); }},
        {"group_norm_depthwise_groups_plain",
         {{2, 3, 5}},
         -2,
         2,
         [](const Ts& x) { return group_norm(x[0], 3, {}, {}, 1e-3); }},
        {"group_norm_weight_only",
         {{2, 6, 2, 2}, {6}},
         -2,
         2,
         [](const Ts& x) { return group_norm(x[0], 3, x[1], {}, 1e-5); }},
        {"standardize_unbiased_groups_positions",
         {{2, 3, 4}},
         -2,
         2,
         [](const Ts& x) {
             return standardize(x[0], {1, 2}, 1, 1e-5);
         }},
        {"standardize_biased_last",
         {{3, 5}},
         -2,
         2,
         [](const Ts& x) { return standardize(x[0], {-1}, 0, 0.0); }},
        // A product after the op so that the gradient is not the same for every element.
        {"standardize_all_weighted",
         {{2, 3}, {2, 3}},
         -2,
         2,
         [](const Ts& x) { return standardize(x[0], {}, 1, 1e-2) * x[1]; }},
    };
}

}  // namespace vg::test
