// Gradient norm and clipping; the norm is accumulated in double in a fixed order so it is
// reproducible for a fixed thread count.
#include "train/optim/clip.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace vg {

double global_grad_norm(const std::vector<Tensor>& params) {
    NoGradGuard no_grad;
    double total = 0;
    for (const Tensor& p : params) {
        Tensor g = p.grad();
        if (!g.defined()) continue;
        Tensor g64 = g.to(DType::F64);
        total += sum(mul(g64, g64)).item();
    }
    return std::sqrt(total);
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
    double norm = global_grad_norm(params);
    if (max_norm <= 0 || !(norm > max_norm)) return norm;
    NoGradGuard no_grad;
    double scale = max_norm / (norm + 1e-6);
    for (const Tensor& p : params) {
        Tensor g = p.grad();
        if (g.defined()) g.mul_(scale);
    }
    return norm;
}

}  // namespace vg
