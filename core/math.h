// Scalar math usable from host (g++) and device (nvcc) code, so functors are written once.
#pragma once
#include <cmath>

#if defined(__CUDACC__)
#define VG_HD __host__ __device__ __forceinline__
#else
#define VG_HD inline
#endif

namespace vg::math {

#if defined(__CUDA_ARCH__)
template <typename T> VG_HD T exp(T x) { return ::exp(x); }
template <typename T> VG_HD T log(T x) { return ::log(x); }
template <typename T> VG_HD T sqrt(T x) { return ::sqrt(x); }
template <typename T> VG_HD T tanh(T x) { return ::tanh(x); }
template <typename T> VG_HD T erf(T x) { return ::erf(x); }
template <typename T> VG_HD T pow(T x, T y) { return ::pow(x, y); }
template <typename T> VG_HD T abs(T x) { return ::fabs(x); }
#else
template <typename T> VG_HD T exp(T x) { return std::exp(x); }
template <typename T> VG_HD T log(T x) { return std::log(x); }
template <typename T> VG_HD T sqrt(T x) { return std::sqrt(x); }
template <typename T> VG_HD T tanh(T x) { return std::tanh(x); }
template <typename T> VG_HD T erf(T x) { return std::erf(x); }
template <typename T> VG_HD T pow(T x, T y) { return std::pow(x, y); }
template <typename T> VG_HD T abs(T x) { return std::fabs(x); }
#endif

template <typename T> VG_HD T max(T a, T b) { return a > b ? a : b; }
template <typename T> VG_HD T min(T a, T b) { return a < b ? a : b; }

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

}  // namespace vg::math
