// Every kernel of both backends, declared once: the list in core/kernel_list.inc is expanded in
// vg::cpu (core/cpu/*.cpp) and in vg::cuda (cuda/*.cu). Ops reach them through VG_DISPATCH
// (core/dispatch.h). CUDA-only launchers (host <-> device copies) are in cuda/kernels.h.
#pragma once
#include <cstdint>

#include "core/functors.h"
#include "core/random.h"
#include "core/reductions.h"
#include "core/tensor.h"

namespace vg {

// Geometry of a 2-D convolution (NCHW input, weight [O, C / G, kh, kw], dilation 1).
struct ConvGeom {
    int64_t B, C, H, W;      // input
    int64_t O, kh, kw;       // output channels, kernel
    int64_t sh, sw, ph, pw;  // stride, padding
    int64_t G = 1;           // groups: channels [g C/G, (g+1) C/G) feed outputs [g O/G, (g+1) O/G)
    int64_t Ho() const { return (H + 2 * ph - kh) / sh + 1; }
    int64_t Wo() const { return (W + 2 * pw - kw) / sw + 1; }
};

// Largest kernel side the direct depthwise kernels (dwconv.*) take; larger ones use im2col.
constexpr int64_t kMaxDepthwiseKernel = 11;

struct AdamWParams {
    double lr, beta1, beta2, eps, weight_decay;
    int64_t step;  // 1-based, for bias correction
};

// The per-step constants of an AdamW update: decoupled weight decay, bias correction folded into
// the step size and the denominator. Computed in double (1 - beta^t loses digits in float for
// beta2 = 0.999 and small t) by one function, defined in core/cpu/optim.cpp, for both backends.
struct AdamWScalars {
    double decay;      // 1 - lr * weight_decay
    double step_size;  // lr / (1 - beta1^t)
    double inv_bc2;    // 1 / sqrt(1 - beta2^t)
};
AdamWScalars adamw_scalars(const AdamWParams& p);

namespace cpu {
#include "core/kernel_list.inc"
}  // namespace cpu

// Declared in every build; defined only where the CUDA backend is compiled (VG_WITH_CUDA), and
// called only through VG_DISPATCH, which never reaches them in a CPU-only build.
namespace cuda {
#include "core/kernel_list.inc"
}  // namespace cuda

}  // namespace vg
