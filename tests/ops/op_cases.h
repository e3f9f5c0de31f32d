// The op table: one row per differentiable op. The gradcheck (float64, CPU) and parity (CUDA vs
// CPU) drivers run every row on every layout variant. Adding an op = adding a row.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"

namespace vg::test {

struct OpCase {
    std::string name;
    std::vector<Shape> shapes;   // float inputs; index/label inputs are built inside fn
    double lo = -2.0, hi = 2.0;  // input value range (keep away from kinks and poles)
    std::function<Tensor(const std::vector<Tensor>&)> fn;
    double atol = 1e-5, rtol = 1e-3;  // gradcheck tolerances (PyTorch's defaults)
    bool broadcast_ok = true;         // false where identical broadcast rows create ties (max)
    bool differentiable = true;
};

// Every row, from the per-family lists below.
std::vector<OpCase> all_op_cases();

std::vector<OpCase> elementwise_cases();
std::vector<OpCase> reduce_cases();
std::vector<OpCase> view_cases();
std::vector<OpCase> nn_op_cases();  // matmul, linear, gated_mix, attention, softmax, norms, losses
// cat, stack, split, unbind, pad, gather, index_select, dropout, drop_path
std::vector<OpCase> shape_op_cases();
std::vector<OpCase> conv_op_cases();       // conv2d
std::vector<OpCase> batchnorm_op_cases();  // batch_norm
std::vector<OpCase> groupnorm_op_cases();  // group_norm, standardize

}  // namespace vg::test
