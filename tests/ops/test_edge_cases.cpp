// The edge inputs of tests/ops/edge_checks.h on the CPU (tests/cuda/test_edge_cases.cpp runs the
// same checks on CUDA).
#include "tests/helpers.h"
#include "tests/ops/edge_checks.h"

using namespace vg;
using namespace vg::test;

TEST_CASE("softmax keeps float precision for logits of magnitude 1e4") {
    for (DType dt : {DType::F32, DType::F64}) check_large_logits(Device::cpu(), dt);
}

TEST_CASE("a fully masked softmax row gives zeros (log_softmax: -inf) and finite gradients") {
    for (DType dt : {DType::F32, DType::F64}) check_masked_rows(Device::cpu(), dt);
}

TEST_CASE("a softmax row holding NaN stays NaN, also where the rest is masked") {
    for (DType dt : {DType::F32, DType::F64}) check_nan_rows(Device::cpu(), dt);
}

TEST_CASE("softmax over rows of 5000 columns matches the formula") {
    for (DType dt : {DType::F32, DType::F64}) check_long_rows(Device::cpu(), dt);
}

TEST_CASE("ops on tensors with a zero extent: K = 0 products, sums over no rows, empty rows") {
    for (DType dt : {DType::F32, DType::F64}) check_zero_extent_ops(Device::cpu(), dt);
}

TEST_CASE("gated_mix with no keys writes zero row sums and a zero gate gradient") {
    for (DType dt : {DType::F32, DType::F64}) check_gated_mix_without_keys(Device::cpu(), dt);
}
