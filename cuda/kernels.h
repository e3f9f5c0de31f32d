// Every CUDA kernel launcher, one line each, with the same names, signatures and layout contract
// as core/cpu/kernels.h (see the comments there). Launchers queue work on the device's stream and
// return without synchronising, except where a host value is needed (check_indices, copies to the
// host). No Eigen and nothing nvcc cannot parse may be included here.
#pragma once
#include "core/cpu/kernels.h"

namespace vg::cuda {

// copy.cu
void copy(const Tensor& src, Tensor& dst);
void fill(Tensor& dst, double value);
void arange(Tensor& dst);
void random_fill(Tensor& dst, const RandomParams& p, uint64_t seed, uint64_t offset);
// Contiguous src and dst of one shape and dtype on different devices (host <-> device, or
// device <-> device); Tensor::to() is its only caller.
void copy_across(const Tensor& src, Tensor& dst);

// elementwise.cu
void unary_fwd(UnaryOp op, UnaryParams p, const Tensor& x, Tensor& y);
void unary_bwd(UnaryOp op, UnaryParams p, const Tensor& x, const Tensor& y, const Tensor& dy,
               Tensor& dx);
void binary_fwd(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& y);
void binary_bwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, Tensor& da,
                Tensor& db);
void where_fwd(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& y);

// reduce.cu
void sum_mid(const Tensor& x, int64_t O, int64_t R, int64_t I, Tensor& y);
void max_mid(const Tensor& x, int64_t O, int64_t R, int64_t I, Tensor& values, Tensor& indices);

// matmul.cu
void matmul(const Tensor& a, const Tensor& b, Tensor& c, double alpha = 1.0, double beta = 0.0);

// softmax.cu
void softmax_fwd(const Tensor& x, Tensor& y, bool log);
void softmax_bwd(const Tensor& y, const Tensor& dy, Tensor& dx, bool log);

// gated_mix.cu
void gated_mix_fwd(const Tensor& c, const Tensor& p, const Tensor& g, bool normalize, int64_t B,
                   int64_t H, int64_t N, int64_t M, Tensor& y, Tensor& s);
void gated_mix_bwd(const Tensor& c, const Tensor& p, const Tensor& g, const Tensor& y,
                   const Tensor& s, const Tensor& dy, bool normalize, int64_t B, int64_t H,
                   int64_t N, int64_t M, Tensor& dc, Tensor& dp, Tensor& dg_rows);

// layernorm.cu
void layernorm_fwd(const Tensor& x, const Tensor& w, const Tensor& b, double eps, Tensor& y,
                   Tensor& mean, Tensor& rstd);
void layernorm_bwd(const Tensor& x, const Tensor& w, const Tensor& mean, const Tensor& rstd,
                   const Tensor& dy, Tensor& dx, Tensor& dw, Tensor& db);

// index.cu
void gather(const Tensor& x, const Tensor& index, int64_t O, int64_t Rx, int64_t Rj, int64_t I,
            Tensor& y);
void scatter_add(Tensor& dx, const Tensor& index, const Tensor& src, int64_t O, int64_t Rx,
                 int64_t Rj, int64_t I);
void index_select(const Tensor& x, const Tensor& index, int64_t O, int64_t Rx, int64_t Rj,
                  int64_t I, Tensor& y);
void index_add(Tensor& dx, const Tensor& index, const Tensor& src, int64_t O, int64_t Rx,
               int64_t Rj, int64_t I);
void check_indices(const Tensor& index, int64_t limit, const char* op);

// conv.cu
void im2col(const Tensor& x, const ConvGeom& g, Tensor& cols);
void col2im(const Tensor& cols, const ConvGeom& g, Tensor& dx);

// optim.cu
void adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWParams& p);

}  // namespace vg::cuda
