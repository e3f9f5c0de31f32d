// Which library computes the CPU's float32 GEMMs. oneDNN's JIT-compiled kernels (chosen by CPUID
// inside the library: AVX-512, AVX2, ...) reach 78-94% of the FMA peak where Eigen's reach 44-56%
// (docs/dependencies.md); Eigen stays the portable fallback, computes every float64 product and the
// many small batched products of attention, and is the reference oneDNN is tested against.
#pragma once

namespace vg {

enum class CpuGemm { Eigen, OneDnn };

// True when this build links oneDNN (CMake option VG_DNNL).
bool cpu_gemm_available(CpuGemm g);
// The library used from now on (default: oneDNN where available); a vg::Error for one not built in.
void set_cpu_gemm(CpuGemm g);
CpuGemm cpu_gemm();
const char* cpu_gemm_name(CpuGemm g);

}  // namespace vg
