// Test helpers: seeded random inputs, layout variants (transposed, offset, broadcast) and the
// CUDA skip guard.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/random.h"
#include "core/tensor.h"

#if VG_WITH_CUDA
#include "cuda/runtime.h"
#endif

namespace vg::test {

// Exit code of a test run in which every case skipped; CMakeLists.txt gives it to ctest as
// SKIP_RETURN_CODE, so such a case shows as "Skipped", never as "Passed".
inline constexpr int kSkipExitCode = 77;
// Marks the running test case as skipped (tests/main.cpp counts it; a case that neither skips nor
// asserts anything fails).
void mark_skipped();

inline bool cuda_available() {
#if VG_WITH_CUDA
    return cuda::available();
#else
    return false;
#endif
}

// Uniform values in [lo, hi) from a private seeded generator.
inline Tensor uniform(const Shape& s, double lo, double hi, DType dt = DType::F64,
                      uint64_t seed = 7) {
    Generator g(seed);
    Tensor u = Tensor::rand(s, DType::F64, Device::cpu(), &g);
    return add_scalar(mul_scalar(u, hi - lo), lo).to(dt);
}

// Every element of `got` within `tol` (absolute) of `want`.
inline void check_close(const std::vector<double>& got, const std::vector<double>& want,
                        double tol) {
    REQUIRE(got.size() == want.size());
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
    CHECK(worst <= tol);
}

// How an op-table input is laid out in memory when handed to the op.
enum class Layout { Contiguous, Transposed, Offset, Broadcast };
inline const char* layout_name(Layout l) {
    switch (l) {
        case Layout::Contiguous:
            return "contiguous";
        case Layout::Transposed:
            return "transposed";
        case Layout::Offset:
            return "offset-slice";
        case Layout::Broadcast:
            return "broadcast";
    }
    return "?";
}

// Whether `layout` changes anything for a tensor of shape `s`.
inline bool layout_applies(Layout l, const Shape& s) {
    switch (l) {
        case Layout::Contiguous:
            return true;
        case Layout::Transposed:
            return s.size() >= 2 && s[s.size() - 1] > 1 && s[s.size() - 2] > 1;
        case Layout::Offset:
            return s.size() >= 1;
        case Layout::Broadcast:
            return s.size() >= 1 && s[0] > 1;
    }
    return false;
}

// The leaf that is perturbed (contiguous) for input shape `s` under `layout`.
inline Shape leaf_shape(Layout l, const Shape& s) {
    Shape t = s;
    if (!layout_applies(l, s)) return t;
    if (l == Layout::Transposed) std::swap(t[t.size() - 1], t[t.size() - 2]);
    if (l == Layout::Offset) t[0] += 2;
    if (l == Layout::Broadcast) t[0] = 1;
    return t;
}

// The view of `leaf` with shape `s` that the op sees.
inline Tensor layout_view(Layout l, const Tensor& leaf, const Shape& s) {
    if (!layout_applies(l, s)) return leaf;
    switch (l) {
        case Layout::Contiguous:
            return leaf;
        case Layout::Transposed:
            return leaf.transpose(-1, -2);
        case Layout::Offset:
            return leaf.narrow(0, 1, s[0]);
        case Layout::Broadcast:
            return leaf.expand(s);
    }
    return leaf;
}

}  // namespace vg::test

// Skips the rest of a GPU test, saying why, where no CUDA device is present.
#define VG_REQUIRE_CUDA()                                                       \
    do {                                                                        \
        if (!::vg::test::cuda_available()) {                                    \
            MESSAGE("skipped: no CUDA device (or vitgrad built without CUDA)"); \
            ::vg::test::mark_skipped();                                         \
            return;                                                             \
        }                                                                       \
    } while (0)
