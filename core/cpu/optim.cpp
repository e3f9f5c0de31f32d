// CPU fused AdamW step with PyTorch's semantics (decoupled weight decay, bias correction folded
// into the step size and the denominator), one pass over the parameter.
#include <cmath>

#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

void adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWParams& p) {
    // Scalars in double: 1 - beta^t loses digits in float for beta2 = 0.999 and small t.
    double bc1 = 1.0 - std::pow(p.beta1, double(p.step));
    double bc2_sqrt = std::sqrt(1.0 - std::pow(p.beta2, double(p.step)));
    dispatch_float(param.dtype(), "adamw_step", [&]<typename T>() {
        T* ps = param.data<T>();
        const T* gs = grad.data<T>();
        T* ms = m.data<T>();
        T* vs = v.data<T>();
        T decay = T(1.0 - p.lr * p.weight_decay), b1 = T(p.beta1), b2 = T(p.beta2);
        T step = T(p.lr / bc1), inv_bc2 = T(1.0 / bc2_sqrt), eps = T(p.eps);
        parallel_for(param.numel(), kParallelGrain, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) {
                T g = gs[i];
                ms[i] = b1 * ms[i] + (T(1) - b1) * g;
                vs[i] = b2 * vs[i] + (T(1) - b2) * g * g;
                ps[i] = ps[i] * decay - step * ms[i] / (std::sqrt(vs[i]) * inv_bc2 + eps);
            }
        });
    });
}

}  // namespace vg::cpu
