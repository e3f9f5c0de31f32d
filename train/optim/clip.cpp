// Gradient norm and clipping; the norm is accumulated in double in a fixed order so it is
// reproducible for a fixed thread count, and read from the device once per call.
#include "train/optim/clip.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace vg {

double global_grad_norm(const std::vector<Tensor>& params) {
    NoGradGuard no_grad;
    std::vector<Tensor> grads;
    for (const Tensor& p : params)
        if (p.grad().defined()) grads.push_back(p.grad());
    if (grads.empty()) return 0;
    // Each gradient's sum of squares goes into one slot of a small float64 tensor on the
    // gradients' device, which is then summed and read once: one host sync per step, where
    // reading each parameter's sum would wait for the device once per parameter.
    const Device device = grads[0].device();
    Tensor squares = Tensor::empty({int64_t(grads.size())}, DType::F64, device);
    for (size_t k = 0; k < grads.size(); ++k) {
        if (grads[k].device() != device)
            fail("global_grad_norm", "gradients on different devices: {} and {}", grads[0].desc(),
                 grads[k].desc());
        Tensor g64 = grads[k].to(DType::F64);
        squares.narrow(0, int64_t(k), 1).copy_(sum(mul(g64, g64)).reshape({1}));
    }
    return std::sqrt(sum(squares).item());
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
