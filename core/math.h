// Scalar math usable from host (g++) and device (nvcc) code, so functors are written once.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define VG_HD __host__ __device__ __forceinline__
#else
#define VG_HD inline
#endif

namespace vg::math {

#if defined(__CUDA_ARCH__)
template <typename T>
VG_HD T exp(T x) {
    return ::exp(x);
}
template <typename T>
VG_HD T log(T x) {
    return ::log(x);
}
template <typename T>
VG_HD T sqrt(T x) {
    return ::sqrt(x);
}
template <typename T>
VG_HD T tanh(T x) {
    return ::tanh(x);
}
template <typename T>
VG_HD T erf(T x) {
    return ::erf(x);
}
template <typename T>
VG_HD T pow(T x, T y) {
    return ::pow(x, y);
}
template <typename T>
VG_HD T abs(T x) {
    return ::fabs(x);
}
#else
template <typename T>
VG_HD T exp(T x) {
    return std::exp(x);
}
template <typename T>
VG_HD T log(T x) {
    return std::log(x);
}
template <typename T>
VG_HD T sqrt(T x) {
    return std::sqrt(x);
}
template <typename T>
VG_HD T tanh(T x) {
    return std::tanh(x);
}
template <typename T>
VG_HD T erf(T x) {
    return std::erf(x);
}
template <typename T>
VG_HD T pow(T x, T y) {
    return std::pow(x, y);
}
template <typename T>
VG_HD T abs(T x) {
    return std::fabs(x);
}
#endif

template <typename T>
VG_HD T max(T a, T b) {
    return a > b ? a : b;
}
template <typename T>
VG_HD T min(T a, T b) {
    return a < b ? a : b;
}

// floor(sqrt(n)) of an integer, exactly (Newton's method in integers, so no rounding at any n);
// 0 for n <= 0.
constexpr int64_t isqrt(int64_t n) {
    if (n < 2) return n < 0 ? 0 : n;
    int64_t x = n / 2 + 1, y = (x + n / x) / 2;
    while (y < x) {
        x = y;
        y = (x + n / x) / 2;
    }
    return x;
}
// Whether n = k * k for an integer k >= 0 (the patch grid, GPSA's one kernel offset per head).
constexpr bool is_square(int64_t n) { return n >= 0 && isqrt(n) * isqrt(n) == n; }

// Branch-free float exp and erf for the CPU's hot loops (GELU, softmax): libm's scalar expf and
// erff cost ~10 ns per element and do not vectorise, which made GELU a third of a training step.
// Both are within a few ulp of libm (tests/ops/test_values.cpp measures it); float64 keeps libm.

// exp: Cephes' expf scheme: n = round(x / ln 2) by the 1.5 * 2^23 trick, r = x - n ln 2 in two
// parts, a degree-5 polynomial for e^r, and 2^n assembled in the exponent bits.
// Inputs below -87.3 (where expf turns subnormal) give exactly 0, so a softmax's masked or far
// logits contribute nothing rather than a tiny 2^-126 floor.
inline float exp_approx(float x_in) {
    float x = x_in < -87.3f ? -87.3f : (x_in > 88.3f ? 88.3f : x_in);
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    float e = p * std::bit_cast<float>((int32_t(n) + 127) << 23);
    return x_in < -87.3f ? 0.0f : e;
}

// erf: the rational approximation Eigen and XLA use for float (odd degree-13 numerator over an
// even degree-8 denominator on [-4, 4]; erf is +-1 to float precision beyond).
inline float erf_approx(float x) {
    x = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return x * p / q;
}

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

}  // namespace vg::math
