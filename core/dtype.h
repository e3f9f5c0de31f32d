// DType: element types, their sizes and names, and dispatch_float, the one switch on dtype.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"

namespace vg {

// F16/BF16 are storage-only placeholders for later mixed precision; no kernel accepts them yet.
enum class DType : uint8_t { F32, F64, I64, F16, BF16 };

constexpr size_t dtype_size(DType t) {
    switch (t) {
        case DType::F32:
            return 4;
        case DType::F64:
            return 8;
        case DType::I64:
            return 8;
        case DType::F16:
            return 2;
        case DType::BF16:
            return 2;
    }
    return 0;
}

constexpr std::string_view dtype_name(DType t) {
    switch (t) {
        case DType::F32:
            return "float32";
        case DType::F64:
            return "float64";
        case DType::I64:
            return "int64";
        case DType::F16:
            return "float16";
        case DType::BF16:
            return "bfloat16";
    }
    return "?";
}

constexpr bool is_floating(DType t) { return t == DType::F32 || t == DType::F64; }

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
    return DType::F32;
}
template <>
constexpr DType dtype_of<double>() {
    return DType::F64;
}
template <>
constexpr DType dtype_of<int64_t>() {
    return DType::I64;
}

// Calls f.template operator()<T>() with T = float or double. The switch happens once per op,
// before any loop, so kernels are plain templates on T.
template <typename F>
decltype(auto) dispatch_float(DType t, const char* op, F&& f) {
    switch (t) {
        case DType::F32:
            return f.template operator()<float>();
        case DType::F64:
            return f.template operator()<double>();
        default:
            fail(op, "expected a float32 or float64 tensor, got {}", dtype_name(t));
    }
}

// Like dispatch_float, but int64 is accepted too (copies, gathers, comparisons of indices).
template <typename F>
decltype(auto) dispatch_all(DType t, const char* op, F&& f) {
    switch (t) {
        case DType::F32:
            return f.template operator()<float>();
        case DType::F64:
            return f.template operator()<double>();
        case DType::I64:
            return f.template operator()<int64_t>();
        default:
            fail(op, "dtype {} is not supported by this op", dtype_name(t));
    }
}

}  // namespace vg

template <>
struct fmt::formatter<vg::DType> : fmt::formatter<std::string_view> {
    auto format(vg::DType t, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(vg::dtype_name(t), ctx);
    }
};
