// Elementwise math, written once for the CPU loops and the CUDA kernels: each op's forward and
// its derivative. Adding an elementwise op = one struct here + one line in the X-list.
#pragma once
#include <cstdint>
#include <string_view>

#include "core/math.h"
#include "core/op_enum.h"

namespace vg {

// Scalar parameters of the parameterised unary ops (add_scalar: a; clamp: [a, b]; pow: a).
struct UnaryParams {
    double a = 0.0, b = 0.0;
};

namespace fn {
// Unary: forward(x, p) and derivative(x, y, p) = dy/dx, where y = forward(x, p).
struct Neg {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams) {
        return -x;
    }
    template <typename T>
    VG_HD static T derivative(T, T, UnaryParams) {
        return T(-1);
    }
};
struct Exp {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams) {
        return math::exp(x);
    }
    template <typename T>
    VG_HD static T derivative(T, T y, UnaryParams) {
        return y;
    }
};
struct Log {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams) {
        return math::log(x);
    }
    template <typename T>
    VG_HD static T derivative(T x, T, UnaryParams) {
        return T(1) / x;
    }
};
struct Sqrt {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams) {
        return math::sqrt(x);
    }
    template <typename T>
    VG_HD static T derivative(T, T y, UnaryParams) {
        return T(0.5) / y;
    }
};
struct Rsqrt {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams) {
        return T(1) / math::sqrt(x);
    }
    template <typename T>
    VG_HD static T derivative(T x, T y, UnaryParams) {
        return T(-0.5) * y / x;
    }
};
struct Abs {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams) {
        return math::abs(x);
    }
    template <typename T>
    VG_HD static T derivative(T x, T, UnaryParams) {
        return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
    }
};
struct Tanh {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams) {
        return math::tanh(x);
    }
    template <typename T>
    VG_HD static T derivative(T, T y, UnaryParams) {
        return T(1) - y * y;
    }
};
struct Sigmoid {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams) {
        return T(1) / (T(1) + math::exp(-x));
    }
    template <typename T>
    VG_HD static T derivative(T, T y, UnaryParams) {
        return y * (T(1) - y);
    }
};
struct Relu {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams) {
        return x > T(0) ? x : T(0);
    }
    template <typename T>
    VG_HD static T derivative(T x, T, UnaryParams) {
        return x > T(0) ? T(1) : T(0);
    }
};
// Exact (erf) GELU, as nn.GELU() in timm and ConViT: x * Phi(x). Host float uses the
// vectorisable erf/exp of core/math.h (within a few ulp); double and device code use libm.
struct Gelu {
    template <typename T>
    VG_HD static T erf(T x) {
#if !defined(__CUDA_ARCH__)
        if constexpr (sizeof(T) == 4) return math::erf_approx(x);
#endif
        return math::erf(x);
    }
    template <typename T>
    VG_HD static T exp(T x) {
#if !defined(__CUDA_ARCH__)
        if constexpr (sizeof(T) == 4) return math::exp_approx(x);
#endif
        return math::exp(x);
    }
    template <typename T>
    VG_HD static T forward(T x, UnaryParams) {
        return T(0.5) * x * (T(1) + erf(x * T(math::kInvSqrt2)));
    }
    template <typename T>
    VG_HD static T derivative(T x, T, UnaryParams) {
        T cdf = T(0.5) * (T(1) + erf(x * T(math::kInvSqrt2)));
        T pdf = T(math::kInvSqrt2Pi) * exp(T(-0.5) * x * x);
        return cdf + x * pdf;
    }
};
struct AddScalar {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams p) {
        return x + T(p.a);
    }
    template <typename T>
    VG_HD static T derivative(T, T, UnaryParams) {
        return T(1);
    }
};
struct MulScalar {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams p) {
        return x * T(p.a);
    }
    template <typename T>
    VG_HD static T derivative(T, T, UnaryParams p) {
        return T(p.a);
    }
};
struct PowScalar {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams p) {
        return math::pow(x, T(p.a));
    }
    template <typename T>
    VG_HD static T derivative(T x, T, UnaryParams p) {
        return T(p.a) * math::pow(x, T(p.a - 1));
    }
};
// Clamp to [a, b]; the gradient passes on the closed interval, bounds included, as torch.clamp's.
struct Clamp {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams p) {
        return x < T(p.a) ? T(p.a) : (x > T(p.b) ? T(p.b) : x);
    }
    template <typename T>
    VG_HD static T derivative(T x, T, UnaryParams p) {
        return (x >= T(p.a) && x <= T(p.b)) ? T(1) : T(0);
    }
};
// ReLU6 = min(max(x, 0), 6), as nn.ReLU6 (hardtanh on [0, 6]). Unlike clamp, PyTorch's
// hardtanh backward passes the gradient only strictly inside (0, 6): it is 0 at both bounds. y is
// strictly inside exactly when x is, so the derivative may be evaluated at y (relu6 saves only y).
struct Relu6 {
    template <typename T>
    VG_HD static T forward(T x, UnaryParams) {
        return x < T(0) ? T(0) : (x > T(6) ? T(6) : x);
    }
    template <typename T>
    VG_HD static T derivative(T x, T, UnaryParams) {
        return (x > T(0) && x < T(6)) ? T(1) : T(0);
    }
};

// Binary: forward(a, b), d_da(a, b), d_db(a, b), and whether binary() records a backward at all
// (comparisons do not: their output is a 0/1 mask). The position in VG_BINARY_OPS means nothing.
struct Add {
    static constexpr bool differentiable = true;
    template <typename T>
    VG_HD static T forward(T a, T b) {
        return a + b;
    }
    template <typename T>
    VG_HD static T d_da(T, T) {
        return T(1);
    }
    template <typename T>
    VG_HD static T d_db(T, T) {
        return T(1);
    }
};
struct Sub {
    static constexpr bool differentiable = true;
    template <typename T>
    VG_HD static T forward(T a, T b) {
        return a - b;
    }
    template <typename T>
    VG_HD static T d_da(T, T) {
        return T(1);
    }
    template <typename T>
    VG_HD static T d_db(T, T) {
        return T(-1);
    }
};
struct Mul {
    static constexpr bool differentiable = true;
    template <typename T>
    VG_HD static T forward(T a, T b) {
        return a * b;
    }
    template <typename T>
    VG_HD static T d_da(T, T b) {
        return b;
    }
    template <typename T>
    VG_HD static T d_db(T a, T) {
        return a;
    }
};
struct Div {
    static constexpr bool differentiable = true;
    template <typename T>
    VG_HD static T forward(T a, T b) {
        return a / b;
    }
    template <typename T>
    VG_HD static T d_da(T, T b) {
        return T(1) / b;
    }
    template <typename T>
    VG_HD static T d_db(T a, T b) {
        return -a / (b * b);
    }
};
struct Pow {
    static constexpr bool differentiable = true;
    template <typename T>
    VG_HD static T forward(T a, T b) {
        return math::pow(a, b);
    }
    template <typename T>
    VG_HD static T d_da(T a, T b) {
        return b * math::pow(a, b - T(1));
    }
    template <typename T>
    VG_HD static T d_db(T a, T b) {
        return math::pow(a, b) * math::log(a);
    }
};
// Ties send the gradient to `a`, as torch.maximum's subgradient choice is arbitrary too.
struct Maximum {
    static constexpr bool differentiable = true;
    template <typename T>
    VG_HD static T forward(T a, T b) {
        return a >= b ? a : b;
    }
    template <typename T>
    VG_HD static T d_da(T a, T b) {
        return a >= b ? T(1) : T(0);
    }
    template <typename T>
    VG_HD static T d_db(T a, T b) {
        return a >= b ? T(0) : T(1);
    }
};
struct Minimum {
    static constexpr bool differentiable = true;
    template <typename T>
    VG_HD static T forward(T a, T b) {
        return a <= b ? a : b;
    }
    template <typename T>
    VG_HD static T d_da(T a, T b) {
        return a <= b ? T(1) : T(0);
    }
    template <typename T>
    VG_HD static T d_db(T a, T b) {
        return a <= b ? T(0) : T(1);
    }
};
// Comparisons give 1 or 0 in the input dtype and carry no gradient.
#define VG_COMPARISON(Name, expr)                     \
    struct Name {                                     \
        static constexpr bool differentiable = false; \
        template <typename T>                         \
        VG_HD static T forward(T a, T b) {            \
            return (expr) ? T(1) : T(0);              \
        }                                             \
        template <typename T>                         \
        VG_HD static T d_da(T, T) {                   \
            return T(0);                              \
        }                                             \
        template <typename T>                         \
        VG_HD static T d_db(T, T) {                   \
            return T(0);                              \
        }                                             \
    };
VG_COMPARISON(Eq, a == b)
VG_COMPARISON(Ne, a != b)
VG_COMPARISON(Lt, a < b)
VG_COMPARISON(Le, a <= b)
VG_COMPARISON(Gt, a > b)
VG_COMPARISON(Ge, a >= b)
#undef VG_COMPARISON

// One element of GPSA's gated mix (autograd/ops/attention.cpp), for the CPU and CUDA kernels.
struct GatedMix {
    // The blend before the row renormalisation: (1 - g) c + g p.
    template <typename T>
    VG_HD static T forward(T c, T p, T gate) {
        return (T(1) - gate) * c + gate * p;
    }
    // With da = (dy - dot) * inv, the gradient through the renormalisation (dot = <dy, y> and
    // inv = 1 / s of the row; 0 and 1 without it): dc = (1 - g) da, and da's shares of the
    // batch-summed dp and of the gate's row sum are added to them.
    template <typename T>
    VG_HD static void backward(T dy, T dot, T inv, T c, T p, T gate, T& dc, T& dp, T& dgate) {
        T da = (dy - dot) * inv;
        dc = (T(1) - gate) * da;
        dp += gate * da;
        dgate += da * (p - c);
    }
};
}  // namespace fn

// The op lists. Each backend expands them once into a switch before its loops.
// clang-format off
#define VG_UNARY_OPS(X)      \
    X(Neg, neg)              \
    X(Exp, exp)              \
    X(Log, log)              \
    X(Sqrt, sqrt)            \
    X(Rsqrt, rsqrt)          \
    X(Abs, abs)              \
    X(Tanh, tanh)            \
    X(Sigmoid, sigmoid)      \
    X(Relu, relu)            \
    X(Gelu, gelu)            \
    X(AddScalar, add_scalar) \
    X(MulScalar, mul_scalar) \
    X(PowScalar, pow_scalar) \
    X(Clamp, clamp)          \
    X(Relu6, relu6)

#define VG_BINARY_OPS(X) \
    X(Add, add)          \
    X(Sub, sub)          \
    X(Mul, mul)          \
    X(Div, div)          \
    X(Pow, pow)          \
    X(Eq, eq)            \
    X(Ne, ne)            \
    X(Lt, lt)            \
    X(Le, le)            \
    X(Gt, gt)            \
    X(Ge, ge)            \
    X(Maximum, maximum)  \
    X(Minimum, minimum)
// clang-format on

VG_DEFINE_OP_ENUM(UnaryOp, VG_UNARY_OPS, fn, visit_unary, Neg)
VG_DEFINE_OP_ENUM(BinaryOp, VG_BINARY_OPS, fn, visit_binary, Add)

}  // namespace vg
