// Device: where a tensor's storage lives (cpu, or cuda:N).
#pragma once
#include <string>

#include "core/error.h"

namespace vg {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
    DeviceType type = DeviceType::CPU;
    int index = 0;

    static Device cpu() { return {DeviceType::CPU, 0}; }
    static Device cuda(int i = 0) { return {DeviceType::CUDA, i}; }
    // Parses "cpu", "cuda", "cuda:1".
    static Device parse(const std::string& s);

    bool is_cpu() const { return type == DeviceType::CPU; }
    bool is_cuda() const { return type == DeviceType::CUDA; }
    bool operator==(const Device&) const = default;
    std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

inline Device Device::parse(const std::string& s) {
    if (s == "cpu") return cpu();
    if (s == "cuda") return cuda(0);
    if (s.rfind("cuda:", 0) == 0 && s.size() > 5) {
        try {
            size_t used = 0;
            int i = std::stoi(s.substr(5), &used);
            if (used == s.size() - 5 && i >= 0) return cuda(i);
        } catch (const std::exception&) {
        }
    }
    fail("Device::parse", "unknown device '{}' (expected cpu, cuda or cuda:N)", s);
}

// Until `./setup.sh gpu-check` has passed on a GPU, the CUDA backend is compiled and tested in
// design only; `vitgrad train --device cuda` prints this line (docs/cuda.md).
inline constexpr const char* kCudaUnverifiedWarning =
    "warning: vitgrad's CUDA backend compiles and is parity-tested in design, but has not yet run "
    "on a GPU (./setup.sh gpu-check is its first check); compare with a --device cpu run";

}  // namespace vg

template <>
struct fmt::formatter<vg::Device> : fmt::formatter<std::string> {
    auto format(const vg::Device& d, format_context& ctx) const {
        return fmt::formatter<std::string>::format(d.str(), ctx);
    }
};
