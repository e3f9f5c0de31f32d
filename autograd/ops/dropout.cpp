// Dropout and drop_path (stochastic depth). Masks come from the counter-based generator: element
// i of a draw keeps iff uniform01(philox(seed, offset + i)) >= p, so both backends draw the same
// mask for the same generator state.
#include "autograd/ops.h"
#include "autograd/record.h"
#include "core/dispatch.h"

namespace vg {

namespace {

void check_p(const char* op, const Tensor& x, double p) {
    check_defined(op, x);
    if (!(p >= 0.0 && p < 1.0))
        fail(op, "probability p = {} must be in [0, 1) (input {})", p, x.desc());
    if (!is_floating(x.dtype())) fail(op, "expected a float32 or float64 tensor, got {}", x.desc());
}

// A tensor of `shape` holding 1/(1-p) where the draw keeps the element and 0 elsewhere. The
// uniforms are drawn and compared in float64 so the decision is exactly uniform01 >= p whatever
// the dtype of x, then the scale is cast to `dtype`.
Tensor keep_mask(const Shape& shape, double p, DType dtype, Device device, Generator* gen) {
    Generator& g = gen ? *gen : default_generator();
    uint64_t offset = g.advance(uint64_t(shape.numel()));
    Tensor u = Tensor::empty(shape, DType::F64, device);
    RandomParams rp;
    rp.kind = RandomKind::Uniform;
    rp.lo = 0.0;
    rp.hi = 1.0;
    VG_DISPATCH(device, random_fill, u, rp, g.seed(), offset);
    Tensor keep = ge(u, Tensor::scalar(p, DType::F64, device));
    return mul_scalar(keep, 1.0 / (1.0 - p)).to(dtype);
}

// y = x * mask with the mask broadcast to x; backward multiplies the gradient by the same mask.
Tensor apply_mask(const char* op, const Tensor& x, const Tensor& mask) {
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    Tensor m = mask.expand(x.shape());
    VG_DISPATCH(x.device(), binary_fwd, BinaryOp::Mul, x.detach(), m, y);
    return record(op, y, {x}, [m](const std::vector<Tensor>& g, const std::vector<bool>&) {
        return std::vector<Tensor>{mul(g[0], m)};
    });
}

}  // namespace

// x: any shape; each element is kept with probability 1 - p.
Tensor dropout(const Tensor& x, double p, bool train, Generator* gen) {
    check_p("dropout", x, p);
    if (!train || p == 0.0 || x.numel() == 0) return x;
    Tensor mask = keep_mask(x.shape(), p, x.dtype(), x.device(), gen);
    return apply_mask("dropout", x, mask);
}

// x: [B, ...]; one draw per sample, broadcast over the rest.
Tensor drop_path(const Tensor& x, double p, bool train, Generator* gen) {
    check_p("drop_path", x, p);
    if (!train || p == 0.0 || x.numel() == 0) return x;
    if (x.dim() == 0) fail("drop_path", "expected a batched tensor [B, ...], got {}", x.desc());
    Shape per_sample = Shape::filled(x.dim(), 1);
    per_sample[0] = x.shape()[0];
    Tensor mask = keep_mask(per_sample, p, x.dtype(), x.device(), gen);
    return apply_mask("drop_path", x, mask);
}

}  // namespace vg
