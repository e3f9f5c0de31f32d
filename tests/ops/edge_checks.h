// Edge inputs checked the same way on every device (each takes the device to run on): logits of
// magnitude 1e4, fully masked (-inf) rows, rows of thousands of columns, tensors with a zero
// extent (including K = 0 products and sums over R = 0 rows), GPSA's gated mix with no keys.
// Expectations come from independent double-precision formulas on the host, never from the code
// under test. tests/ops/test_edge_cases.cpp runs them on the CPU, tests/cuda/test_edge_cases.cpp
// on CUDA.
#pragma once
#include "core/device.h"
#include "core/dtype.h"

namespace vg::test {

void check_large_logits(Device d, DType dt);
void check_masked_rows(Device d, DType dt);
void check_nan_rows(Device d, DType dt);
void check_long_rows(Device d, DType dt);
void check_zero_extent_ops(Device d, DType dt);
void check_gated_mix_without_keys(Device d, DType dt);

}  // namespace vg::test
