// The CPU AdamW kernel rounds every product and sum on its own, in the order cuda/optim.cu uses,
// so the two backends agree bit for bit (tests/cuda/test_optim_parity.cpp compares them on a GPU).
// Here the CPU kernel is compared, bit for bit, with a reference whose volatile temporaries
// stop the compiler from fusing any multiply-add; a kernel compiled with contraction (FMA) fails.
#include <cmath>

#include "core/kernels.h"
#include "tests/helpers.h"

using namespace vg;
using namespace vg::test;

namespace {

template <typename T>
void adamw_reference(T& param, T g, T& m, T& v, const AdamWParams& p) {
    AdamWScalars k = adamw_scalars(p);
    const T b1 = T(p.beta1), b2 = T(p.beta2), eps = T(p.eps);
    volatile T keep1 = b1 * m, gain1 = T(1) - b1, new1 = gain1 * g;
    volatile T mi = keep1 + new1;
    volatile T keep2 = b2 * v, gain2 = T(1) - b2, new2 = gain2 * g, sq = new2 * g;
    volatile T vi = keep2 + sq;
    volatile T root = std::sqrt(T(vi)), scaled = root * T(k.inv_bc2), denom = scaled + eps;
    volatile T numer = T(k.step_size) * mi, update = numer / denom, decayed = param * T(k.decay);
    m = mi;
    v = vi;
    param = decayed - update;
}

template <typename T>
void check_adamw_bits(DType dt) {
    const int64_t n = 4096;
    Tensor param = uniform({n}, -2, 2, dt, 1), grad = uniform({n}, -1e-2, 1e-2, dt, 2);
    Tensor m = uniform({n}, -1e-3, 1e-3, dt, 3), v = uniform({n}, 0, 1e-4, dt, 4);
    std::vector<T> pw(static_cast<size_t>(n)), mw(pw), vw(pw);
    for (int64_t i = 0; i < n; ++i) {
        pw[size_t(i)] = param.data<T>()[i];
        mw[size_t(i)] = m.data<T>()[i];
        vw[size_t(i)] = v.data<T>()[i];
    }
    for (int64_t step = 1; step <= 3; ++step) {
        AdamWParams p{1e-3, 0.9, 0.999, 1e-8, 0.05, step};
        cpu::adamw_step(param, grad, m, v, p);
        for (int64_t i = 0; i < n; ++i)
            adamw_reference<T>(pw[size_t(i)], grad.data<T>()[i], mw[size_t(i)], vw[size_t(i)], p);
    }
    int64_t differ = 0;
    for (int64_t i = 0; i < n; ++i)
        differ += param.data<T>()[i] != pw[size_t(i)] || m.data<T>()[i] != mw[size_t(i)] ||
                  v.data<T>()[i] != vw[size_t(i)];
    CHECK_MESSAGE(differ == 0, dtype_name(dt), ": ", differ, " of ", n,
                  " elements differ from the unfused reference");
}

}  // namespace

TEST_CASE("cpu adamw_step rounds each operation on its own (no fused multiply-add)") {
    check_adamw_bits<float>(DType::F32);
    check_adamw_bits<double>(DType::F64);
}

TEST_CASE("adamw_scalars: decay, bias-corrected step size and 1 / sqrt(1 - beta2^t)") {
    AdamWScalars k = adamw_scalars({0.01, 0.9, 0.999, 1e-8, 0.05, 3});
    CHECK(k.decay == doctest::Approx(1 - 0.01 * 0.05).epsilon(1e-15));
    CHECK(k.step_size == doctest::Approx(0.01 / (1 - 0.9 * 0.9 * 0.9)).epsilon(1e-15));
    CHECK(k.inv_bc2 == doctest::Approx(1 / std::sqrt(1 - 0.999 * 0.999 * 0.999)).epsilon(1e-15));
}
