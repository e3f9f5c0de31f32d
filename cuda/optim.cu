// CUDA fused AdamW: one pass over param, grad, m and v (contiguous, one shape), with the same
// PyTorch semantics, the same scalars (adamw_scalars) and the same arithmetic order as
// core/cpu/optim.cpp. Compiled with -fmad=false (CMakeLists.txt), and nvcc's default IEEE sqrt
// and division, so the update equals the CPU's bit for bit.
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace vg::cuda {

namespace {

template <typename T>
__global__ void adamw_kernel(int64_t n, T* param, const T* grad, T* m, T* v, T decay, T b1, T b2,
                             T step, T inv_bc2, T eps) {
    VG_GRID_STRIDE_LOOP(i, n) {
        T g = grad[i];
        T mi = b1 * m[i] + (T(1) - b1) * g;
        T vi = b2 * v[i] + (T(1) - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] = param[i] * decay - step * mi / (math::sqrt(vi) * inv_bc2 + eps);
    }
}

}  // namespace

void adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWParams& p) {
    int64_t n = param.numel();
    if (n == 0) return;
    AdamWScalars k = adamw_scalars(p);
    dispatch_float(param.dtype(), "adamw_step", [&]<typename T>() {
        launch("adamw_step", "adamw_kernel", adamw_kernel<T>, grid_for(n), kBlock, 0,
               param.device().index, n, dev_ptr<T>(param), dev_ptr<T>(grad), dev_ptr<T>(m),
               dev_ptr<T>(v), T(k.decay), T(p.beta1), T(p.beta2), T(k.step_size), T(k.inv_bc2),
               T(p.eps));
    });
}

}  // namespace vg::cuda
