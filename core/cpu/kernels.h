// Every CPU kernel, one line each; cuda/kernels.h declares the same names in vg::cuda.
// Contract: the op (autograd/ops/) validates and allocates; a kernel only fills its outputs.
// Shapes use B batch, R rows, C columns; "contiguous" means row-major with offset allowed.
#pragma once
#include <cstdint>

#include "core/functors.h"
#include "core/random.h"
#include "core/tensor.h"

namespace vg {

// Geometry of a 2-D convolution (NCHW input, OIHW weight, groups = 1).
struct ConvGeom {
    int64_t B, C, H, W;      // input
    int64_t O, kh, kw;       // output channels, kernel
    int64_t sh, sw, ph, pw;  // stride, padding
    int64_t Ho() const { return (H + 2 * ph - kh) / sh + 1; }
    int64_t Wo() const { return (W + 2 * pw - kw) / sw + 1; }
};

struct AdamWParams {
    double lr, beta1, beta2, eps, weight_decay;
    int64_t step;  // 1-based, for bias correction
};

namespace cpu {

// copy.cpp ------------------------------------------------------------------------------------
void copy(const Tensor& src, Tensor& dst);  // same shape; any strides (src may be expanded); casts
void fill(Tensor& dst, double value);       // any strides
void arange(Tensor& dst);                   // contiguous: dst[i] = i
void random_fill(Tensor& dst, const RandomParams& p, uint64_t seed, uint64_t offset);  // contiguous

// elementwise.cpp: inputs are already expanded to the output shape (stride 0 where broadcast) --
void unary_fwd(UnaryOp op, UnaryParams p, const Tensor& x, Tensor& y);  // y contiguous
// dx = dy * f'(x); x, y, dy, dx all of one shape; dx contiguous.
void unary_bwd(UnaryOp op, UnaryParams p, const Tensor& x, const Tensor& y, const Tensor& dy,
               Tensor& dx);
void binary_fwd(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& y);  // y contiguous
// da = dy * d_da(a, b), db = dy * d_db(a, b) in the output shape (the op reduces with sum_to);
// either output may be undefined when not needed.
void binary_bwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, Tensor& da,
                Tensor& db);
void where_fwd(const Tensor& cond, const Tensor& a, const Tensor& b,
               Tensor& y);  // cond != 0 ? a : b

// reduce.cpp: x contiguous viewed as [O, R, I]; reduce over R ----------------------------------
void sum_mid(const Tensor& x, int64_t O, int64_t R, int64_t I, Tensor& y);  // y [O, I]
void max_mid(const Tensor& x, int64_t O, int64_t R, int64_t I, Tensor& values, Tensor& indices);

// matmul.cpp: a [Bt, M, K], b [Bt, K, N] -> c [Bt, M, N] contiguous. a and b may each be
// transposed views (unit stride in either of their last two dims) and have batch stride 0.
// c = alpha * a @ b + beta * c.
void matmul(const Tensor& a, const Tensor& b, Tensor& c, double alpha = 1.0, double beta = 0.0);

// softmax.cpp: rows of the last dim; x, y, dy, dx contiguous [R, C] ----------------------------
void softmax_fwd(const Tensor& x, Tensor& y, bool log);
void softmax_bwd(const Tensor& y, const Tensor& dy, Tensor& dx, bool log);

// gated_mix.cpp: GPSA's gate; c, y, dy, dc [B, H, N, M], p, dp [H, N, M], g [H], s [B, H, N],
// dg_rows [H, N], all contiguous. s is written / read only when `normalize`.
void gated_mix_fwd(const Tensor& c, const Tensor& p, const Tensor& g, bool normalize, int64_t B,
                   int64_t H, int64_t N, int64_t M, Tensor& y, Tensor& s);
void gated_mix_bwd(const Tensor& c, const Tensor& p, const Tensor& g, const Tensor& y,
                   const Tensor& s, const Tensor& dy, bool normalize, int64_t B, int64_t H,
                   int64_t N, int64_t M, Tensor& dc, Tensor& dp, Tensor& dg_rows);

// layernorm.cpp: x [R, C] contiguous; w, b [C] (may be undefined); mean, rstd [R] -------------
void layernorm_fwd(const Tensor& x, const Tensor& w, const Tensor& b, double eps, Tensor& y,
                   Tensor& mean, Tensor& rstd);
// dw, db accumulate (+=) and may be undefined.
void layernorm_bwd(const Tensor& x, const Tensor& w, const Tensor& mean, const Tensor& rstd,
                   const Tensor& dy, Tensor& dx, Tensor& dw, Tensor& db);

// index.cpp: all contiguous; index tensors are int64 ------------------------------------------
// y[o, j, i] = x[o, index[o, j, i], i] with x [O, Rx, I], index and y [O, Rj, I].
void gather(const Tensor& x, const Tensor& index, int64_t O, int64_t Rx, int64_t Rj, int64_t I,
            Tensor& y);
// dx[o, index[o, j, i], i] += src[o, j, i] (dx zero-initialised by the op).
void scatter_add(Tensor& dx, const Tensor& index, const Tensor& src, int64_t O, int64_t Rx,
                 int64_t Rj, int64_t I);
// y[o, j, i] = x[o, index[j], i] with x [O, Rx, I], index [Rj]; index_add is its adjoint.
void index_select(const Tensor& x, const Tensor& index, int64_t O, int64_t Rx, int64_t Rj,
                  int64_t I, Tensor& y);
void index_add(Tensor& dx, const Tensor& index, const Tensor& src, int64_t O, int64_t Rx,
               int64_t Rj, int64_t I);
// Throws a vg::Error naming `op` if any index is outside [0, limit).
void check_indices(const Tensor& index, int64_t limit, const char* op);

// conv.cpp: x [B, C, H, W] contiguous <-> cols [B, C*kh*kw, Ho*Wo] ----------------------------
void im2col(const Tensor& x, const ConvGeom& g, Tensor& cols);
void col2im(const Tensor& cols, const ConvGeom& g, Tensor& dx);  // dx zeroed by the op

// optim.cpp: fused AdamW on contiguous tensors of one shape -----------------------------------
void adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWParams& p);

}  // namespace cpu
}  // namespace vg
