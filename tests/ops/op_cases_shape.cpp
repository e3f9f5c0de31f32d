// Op table rows for cat, stack, split, unbind, pad, gather, index_select, dropout and drop_path.
#include "tests/ops/op_cases.h"

namespace vg::test {

namespace {
using Ts = std::vector<Tensor>;

Tensor index_tensor(const std::vector<int64_t>& v, const Shape& s, const Tensor& like) {
    return Tensor::from_vector_i64(v, s, like.device());
}
}  // namespace

std::vector<OpCase> shape_op_cases() {
    return {
        {"gather_dim0",
         {{3, 4}},
         -2,
         2,
         [](const Ts& x) {
             // Repeated indices check that scatter_add accumulates.
             Tensor idx = index_tensor({2, 0, 1, 2, 0, 0, 2, 1}, {2, 4}, x[0]);
             return gather(x[0], 0, idx);
         }},
        {"gather_dim1",
         {{3, 4}},
         -2,
         2,
         [](const Ts& x) {
             Tensor idx = index_tensor({3, 0, 3, 1, 1, 2, 0, 0, 2}, {3, 3}, x[0]);
             return gather(x[0], 1, idx);
         }},
        {"gather_dim1_smaller_index",
         {{3, 4}},
         -2,
         2,
         [](const Ts& x) {
             // index [2, 3] reads only rows 0..1 of x: the rest of dx stays zero.
             Tensor idx = index_tensor({3, 0, 3, 1, 2, 2}, {2, 3}, x[0]);
             return gather(x[0], 1, idx);
         }},
        {"index_select_dim0",
         {{4, 3}},
         -2,
         2,
         [](const Ts& x) {
             return index_select(x[0], 0, index_tensor({3, 0, 3, 1}, {4}, x[0]));
         }},
        {"index_select_dim1",
         {{2, 4, 3}},
         -2,
         2,
         [](const Ts& x) {
             return index_select(x[0], 1, index_tensor({1, 1, 2}, {3}, x[0]));
         }},
        {"cat_dim0",
         {{2, 4}, {1, 4}, {3, 4}},
         -2,
         2,
         [](const Ts& x) {
             return cat({x[0], x[1], x[2]}, 0);
         }},
        {"cat_dim1",
         {{3, 2}, {3, 1}, {3, 3}},
         -2,
         2,
         [](const Ts& x) {
             return cat({x[0], x[1], x[2]}, -1);
         }},
        {"stack_dim1",
         {{3, 4}, {3, 4}, {3, 4}},
         -2,
         2,
         [](const Ts& x) {
             return stack({x[0], x[1], x[2]}, 1);
         }},
        {"split_reversed",
         {{3, 5}},
         -2,
         2,
         [](const Ts& x) {
             auto parts = split(x[0], {2, 3}, 1);
             return cat({mul_scalar(parts[1], 2.0), parts[0]}, 1);
         }},
        {"unbind_dim1",
         {{3, 4, 2}},
         -2,
         2,
         [](const Ts& x) {
             auto parts = unbind(x[0], 1);  // part 2 unused: its gradient slot must be zeros
             return cat({mul(parts[0], parts[3]), mul_scalar(parts[1], 3.0)}, 0);
         }},
        {"pad_2d",
         {{3, 4}},
         -2,
         2,
         [](const Ts& x) {
             return pad(x[0], {1, 2, 2, 0}, 0.5);
         }},
        {"pad_last_dim",
         {{3, 4}},
         -2,
         2,
         [](const Ts& x) {
             return pad(x[0], {0, 3});
         }},
        {"pad_4d",
         {{2, 2, 3, 3}},
         -2,
         2,
         [](const Ts& x) {
             return pad(x[0], {1, 1, 2, 1}, -1.0);
         }},
        {"dropout_p0.3",
         {{4, 5}},
         -2,
         2,
         [](const Ts& x) {
             Generator g(42);  // fresh each call: every evaluation draws the same mask
             return dropout(x[0], 0.3, true, &g);
         }},
        {"drop_path_p0.3",
         {{6, 3, 2}},
         -2,
         2,
         [](const Ts& x) {
             Generator g(3);
             return drop_path(x[0], 0.3, true, &g);
         }},
    };
}

}  // namespace vg::test
