// CPU fused AdamW step with PyTorch's semantics, one pass over the parameter. Compiled without
// floating-point contraction (CMakeLists.txt), as cuda/optim.cu is (-fmad=false): both backends
// round every product and sum on its own, in the same order, so their updates agree bit for bit.
#include <cmath>

#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg {

AdamWScalars adamw_scalars(const AdamWParams& p) {
    return {1.0 - p.lr * p.weight_decay, p.lr / (1.0 - std::pow(p.beta1, double(p.step))),
            1.0 / std::sqrt(1.0 - std::pow(p.beta2, double(p.step)))};
}

namespace cpu {

void adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWParams& p) {
    AdamWScalars k = adamw_scalars(p);
    dispatch_float(param.dtype(), "adamw_step", [&]<typename T>() {
        T* ps = param.data<T>();
        const T* gs = grad.data<T>();
        T* ms = m.data<T>();
        T* vs = v.data<T>();
        const T decay = T(k.decay), step = T(k.step_size), inv_bc2 = T(k.inv_bc2);
        const T b1 = T(p.beta1), b2 = T(p.beta2), eps = T(p.eps);
        parallel_for(param.numel(), kParallelGrain, [&](int64_t b, int64_t e) {
            // The same expressions, in the same order, as adamw_kernel in cuda/optim.cu.
            for (int64_t i = b; i < e; ++i) {
                T g = gs[i];
                T mi = b1 * ms[i] + (T(1) - b1) * g;
                T vi = b2 * vs[i] + (T(1) - b2) * g * g;
                ms[i] = mi;
                vs[i] = vi;
                ps[i] = ps[i] * decay - step * mi / (std::sqrt(vi) * inv_bc2 + eps);
            }
        });
    });
}

}  // namespace cpu
}  // namespace vg
