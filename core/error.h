// vg::Error and VG_CHECK: every failure names the op and the offending shapes/dtypes/devices.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace vg {

class Error : public std::runtime_error {
  public:
    explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// Throws vg::Error("<op>: <formatted message>").
template <typename... Args>
[[noreturn]] void fail(const char* op, fmt::format_string<Args...> f, Args&&... args) {
    throw Error(fmt::format("{}: {}", op, fmt::format(f, std::forward<Args>(args)...)));
}

}  // namespace vg

// VG_CHECK(cond, "op", "fmt", args...): throw vg::Error naming the op when cond is false.
#define VG_CHECK(cond, op, ...)                   \
    do {                                          \
        if (!(cond)) ::vg::fail(op, __VA_ARGS__); \
    } while (0)
