// Elementwise math, written once for the CPU loops and the CUDA kernels: each op's forward and
// its derivative. Adding an elementwise op = one struct here + one line in the X-list.
#pragma once
#include <cstdint>
#include <string_view>

#include "core/math.h"

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

// Binary: forward(a, b), d_da(a, b), d_db(a, b).
struct Add {
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
// Comparisons give 1 or 0 in the input dtype and have zero derivative.
#define VG_COMPARISON(Name, expr)          \
    struct Name {                          \
        template <typename T>              \
        VG_HD static T forward(T a, T b) { \
            return (expr) ? T(1) : T(0);   \
        }                                  \
        template <typename T>              \
        VG_HD static T d_da(T, T) {        \
            return T(0);                   \
        }                                  \
        template <typename T>              \
        VG_HD static T d_db(T, T) {        \
            return T(0);                   \
        }                                  \
    };
VG_COMPARISON(Eq, a == b)
VG_COMPARISON(Ne, a != b)
VG_COMPARISON(Lt, a < b)
VG_COMPARISON(Le, a <= b)
VG_COMPARISON(Gt, a > b)
VG_COMPARISON(Ge, a >= b)
#undef VG_COMPARISON
}  // namespace fn

// The op lists. Each backend expands them once into a switch before its loops.
#define VG_UNARY_OPS(X)                                                                          \
    X(Neg, neg)                                                                                  \
    X(Exp, exp)                                                                                  \
    X(Log, log)                                                                                  \
    X(Sqrt, sqrt) X(Rsqrt, rsqrt) X(Abs, abs) X(Tanh, tanh) X(Sigmoid, sigmoid) X(Relu, relu)    \
        X(Gelu, gelu) X(AddScalar, add_scalar) X(MulScalar, mul_scalar) X(PowScalar, pow_scalar) \
            X(Clamp, clamp) X(Relu6, relu6)

#define VG_BINARY_OPS(X)                                                                          \
    X(Add, add)                                                                                   \
    X(Sub, sub)                                                                                   \
    X(Mul, mul)                                                                                   \
    X(Div, div) X(Pow, pow) X(Maximum, maximum) X(Minimum, minimum) X(Eq, eq) X(Ne, ne) X(Lt, lt) \
        X(Le, le) X(Gt, gt) X(Ge, ge)

#define VG_ENUM_ENTRY(Name, name) Name,
enum class UnaryOp : uint8_t { VG_UNARY_OPS(VG_ENUM_ENTRY) };
enum class BinaryOp : uint8_t { VG_BINARY_OPS(VG_ENUM_ENTRY) };
#undef VG_ENUM_ENTRY

constexpr std::string_view op_name(UnaryOp op) {
    switch (op) {
#define VG_NAME_CASE(Name, name) \
    case UnaryOp::Name:          \
        return #name;
        VG_UNARY_OPS(VG_NAME_CASE)
#undef VG_NAME_CASE
    }
    return "?";
}
constexpr std::string_view op_name(BinaryOp op) {
    switch (op) {
#define VG_NAME_CASE(Name, name) \
    case BinaryOp::Name:         \
        return #name;
        VG_BINARY_OPS(VG_NAME_CASE)
#undef VG_NAME_CASE
    }
    return "?";
}

// Calls f.template operator()<fn::Name>() for the functor of `op` (one switch, outside loops).
template <typename F>
decltype(auto) visit_unary(UnaryOp op, F&& f) {
    switch (op) {
#define VG_VISIT_CASE(Name, name) \
    case UnaryOp::Name:           \
        return f.template operator()<fn::Name>();
        VG_UNARY_OPS(VG_VISIT_CASE)
#undef VG_VISIT_CASE
    }
    return f.template operator()<fn::Neg>();
}
template <typename F>
decltype(auto) visit_binary(BinaryOp op, F&& f) {
    switch (op) {
#define VG_VISIT_CASE(Name, name) \
    case BinaryOp::Name:          \
        return f.template operator()<fn::Name>();
        VG_BINARY_OPS(VG_VISIT_CASE)
#undef VG_VISIT_CASE
    }
    return f.template operator()<fn::Add>();
}

}  // namespace vg
