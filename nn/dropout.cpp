// Dropout, DropPath and GELU modules.
#include "nn/dropout.h"

#include "autograd/ops.h"

namespace vg::nn {

namespace {
void check_rate(const char* op, double p) {
    if (!(p >= 0.0 && p < 1.0)) fail(op, "rate must be in [0, 1), got {}", p);
}
}  // namespace

Dropout::Dropout(double rate) : p(rate) { check_rate("Dropout", rate); }

Tensor Dropout::forward(const Tensor& x) const {
    // Skipping the op keeps the graph (and the RNG stream) untouched when the layer is inactive.
    if (!active()) return x;
    return dropout(x, p, true);
}

DropPath::DropPath(double rate) : p(rate) { check_rate("DropPath", rate); }

Tensor DropPath::forward(const Tensor& x) const {
    if (p == 0.0 || !is_training()) return x;
    return drop_path(x, p, true);
}

Tensor GELU::forward(const Tensor& x) const { return gelu(x); }

}  // namespace vg::nn
