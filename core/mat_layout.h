// The one rule for handing a strided matrix to a GEMM without copying it, shared by the CPU
// (Eigen) and CUDA (cuBLAS) kernels and by autograd's decision whether to copy an operand first.
#pragma once
#include <algorithm>
#include <cstdint>

#include "core/tensor.h"

namespace vg {

// How a [rows, cols] matrix with element strides (sr, sc) is stored: row-major with leading
// dimension `outer`, or column-major (a transposed view); !ok when neither fits.
struct MatLayout {
    bool ok = false;
    bool row_major = true;
    int64_t outer = 1;  // leading dimension, in elements
};

inline MatLayout mat_layout(int64_t rows, int64_t cols, int64_t sr, int64_t sc) {
    // Size-1 dims carry arbitrary strides (views of vectors); they never constrain the layout.
    if ((cols <= 1 || sc == 1) && (rows <= 1 || sr >= std::max<int64_t>(cols, 1)))
        return {true, true, rows <= 1 ? std::max<int64_t>(cols, 1) : sr};
    if ((rows <= 1 || sr == 1) && (cols <= 1 || sc >= std::max<int64_t>(rows, 1)))
        return {true, false, cols <= 1 ? std::max<int64_t>(rows, 1) : sc};
    return {};
}

// The layouts of the operands of c[Bt, M, N] = a[Bt, M, K] @ b[Bt, K, N] as the kernels take them,
// or a vg::Error naming matmul when either operand has no unit stride in its last two dims.
struct GemmLayouts {
    MatLayout a, b;
};
inline GemmLayouts gemm_layouts(const Tensor& a, const Tensor& b, int64_t M, int64_t K, int64_t N) {
    GemmLayouts l{mat_layout(M, K, a.strides()[1], a.strides()[2]),
                  mat_layout(K, N, b.strides()[1], b.strides()[2])};
    if (!l.a.ok || !l.b.ok)
        fail("matmul",
             "operands need a unit stride in one of their last two dims, got {} with "
             "strides {} and {} with strides {}",
             a.desc(), a.strides().str(), b.desc(), b.strides().str());
    return l;
}

}  // namespace vg
