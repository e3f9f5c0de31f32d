// Reductions, written once for the CPU loop (core/cpu/reduce.cpp) and the CUDA kernels
// (cuda/reduce.cu): each functor says how the inputs of one output fold into an accumulator and
// how the gradient flows back. Adding a reduction = one struct here + one line in VG_REDUCTIONS;
// it becomes vg::<name>(x, dims, keepdim) with its backward (autograd/ops/reduce.cpp).
#pragma once
#include <cstdint>
#include <limits>
#include <string_view>

#include "core/math.h"
#include "core/op_enum.h"

namespace vg {

// How a reduction's gradient reaches its inputs.
enum class ReduceGrad : uint8_t {
    Broadcast,    // dx = dy * derivative(n), the same for every input: a broadcast view, no kernel
    Elementwise,  // dx = dy * derivative(x, y, n) for each input (one generic kernel)
    Select,       // dx = dy at the selected input (the accumulator's `index`), 0 elsewhere
};

namespace red {
// A reduction functor provides, for T = float or double:
//   Acc<T>               the accumulator; trivially copyable (it crosses threads, warps, blocks)
//   init<T>()            the accumulator of no inputs: combine(init, a) == a exactly
//   step(a, x, r)        a with input x, at position r along the reduced axis, folded in; the
//                        positions given to one accumulator increase from call to call
//   combine(a, b)        the accumulator of the inputs of a and b together; inputs reach a
//                        reduction in different groupings on each backend, so combine must not
//                        depend on which side came first (ties are broken by position)
//   finalize(a, n)       the output for the n inputs folded into a
//   grad, derivative     the backward rule (see ReduceGrad); derivative(x, y, n) = dy/dx
// Every loop folds in an order that depends on the shape only, never on the thread count.

// y = sum x
struct Sum {
    static constexpr ReduceGrad grad = ReduceGrad::Broadcast;
    template <typename T>
    using Acc = T;
    template <typename T>
    VG_HD static T init() {
        return T(0);
    }
    template <typename T>
    VG_HD static T step(T a, T x, int64_t) {
        return a + x;
    }
    template <typename T>
    VG_HD static T combine(T a, T b) {
        return a + b;
    }
    template <typename T>
    VG_HD static T finalize(T a, int64_t) {
        return a;
    }
    template <typename T>
    VG_HD static T derivative(T, T, int64_t) {
        return T(1);
    }
};

// y = sum x / n (0 for no inputs)
struct Mean : Sum {
    template <typename T>
    VG_HD static T finalize(T a, int64_t n) {
        return n > 0 ? a / T(n) : T(0);
    }
    template <typename T>
    VG_HD static T derivative(T, T, int64_t n) {
        return n > 0 ? T(1) / T(n) : T(0);
    }
};

// The value and position of the first maximum; NaN wins (as torch.max), the first NaN of several.
struct Max {
    static constexpr ReduceGrad grad = ReduceGrad::Select;
    template <typename T>
    struct Acc {
        T value;
        int64_t index;  // -1: no input yet
    };
    template <typename T>
    VG_HD static Acc<T> init() {
        return {T(0), -1};
    }
    // Whether b is the maximum of a's inputs and b's together.
    template <typename T>
    VG_HD static bool wins(Acc<T> b, Acc<T> a) {
        if (a.index < 0 || b.index < 0) return a.index < 0 && b.index >= 0;
        bool a_nan = a.value != a.value, b_nan = b.value != b.value;
        if (a_nan || b_nan) return b_nan && (!a_nan || b.index < a.index);
        return b.value > a.value || (b.value == a.value && b.index < a.index);
    }
    // Positions grow from step to step, so only a larger value, a first NaN or a first input moves.
    template <typename T>
    VG_HD static Acc<T> step(Acc<T> a, T x, int64_t r) {
        bool take = a.index < 0 || x > a.value || (x != x && a.value == a.value);
        return take ? Acc<T>{x, r} : a;
    }
    template <typename T>
    VG_HD static Acc<T> combine(Acc<T> a, Acc<T> b) {
        return wins(b, a) ? b : a;
    }
    template <typename T>
    VG_HD static T finalize(Acc<T> a, int64_t) {
        return a.value;
    }
};

// y = log sum exp x in one pass: the running maximum m and s = sum exp(x - m), rescaled when m
// grows, so large logits do not overflow. An empty or all -inf group gives -inf, +inf gives +inf,
// NaN stays NaN (as torch.logsumexp). dy/dx = exp(x - y), the softmax of the group; 0 where
// y = -inf, as a fully masked softmax row.
struct LogSumExp {
    static constexpr ReduceGrad grad = ReduceGrad::Elementwise;
    template <typename T>
    struct Acc {
        T max;  // -inf: no input yet
        T sum;  // sum of exp(x - max)
    };
    template <typename T>
    VG_HD static Acc<T> init() {
        return {-std::numeric_limits<T>::infinity(), T(0)};
    }
    template <typename T>
    VG_HD static Acc<T> step(Acc<T> a, T x, int64_t) {
        return combine(a, Acc<T>{x, T(1)});
    }
    // Equal maxima add their sums without exp (so inf - inf never arises); otherwise the smaller
    // side is rescaled to the larger maximum. Symmetric in a and b.
    template <typename T>
    VG_HD static Acc<T> combine(Acc<T> a, Acc<T> b) {
        if (a.max != a.max) return a;
        if (b.max != b.max) return b;
        if (a.max == b.max) return {a.max, a.sum + b.sum};
        const Acc<T> hi = a.max > b.max ? a : b, lo = a.max > b.max ? b : a;
        return {hi.max, hi.sum + lo.sum * math::exp(lo.max - hi.max)};
    }
    template <typename T>
    VG_HD static T finalize(Acc<T> a, int64_t) {
        return a.max + math::log(a.sum);
    }
    template <typename T>
    VG_HD static T derivative(T x, T y, int64_t) {
        return y == -std::numeric_limits<T>::infinity() ? T(0) : math::exp(x - y);
    }
};

}  // namespace red

// The reductions. Each entry X(Functor, name) is a public op
//   Tensor name(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false)
// over `dims` (empty: all), declared in autograd/ops.h and defined in autograd/ops/reduce.cpp.
// clang-format off
#define VG_REDUCTIONS(X)    \
    X(Sum, sum)             \
    X(Mean, mean)           \
    X(Max, max)             \
    X(LogSumExp, logsumexp)
// clang-format on

VG_DEFINE_OP_ENUM(ReduceOp, VG_REDUCTIONS, red, visit_reduction, Sum)

}  // namespace vg
