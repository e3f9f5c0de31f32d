// softmax and log_softmax along any dim: the rows kernel runs on the last dim, other dims are
// moved last (one copy) and the result viewed back. Backward needs only the output y.
#include "autograd/ops.h"
#include "autograd/record.h"
#include "core/dispatch.h"

namespace vg {

namespace {

Tensor softmax_impl(const char* name, const Tensor& x, int64_t dim, bool log) {
    check_defined(name, x);
    if (!is_floating(x.dtype()))
        fail(name, "expected a float32 or float64 tensor, got {}", x.desc());
    int d = wrap_dim(dim, x.dim(), name);
    int last = std::max(x.dim(), 1) - 1;
    // x: [..., C] with the softmax dim last and rows contiguous.
    Tensor xd = x.dim() == 0 ? x.detach().reshape({1}) : x.detach();
    if (d != last) xd = xd.transpose(d, last);
    xd = xd.contiguous();
    Tensor yt = Tensor::empty(xd.shape(), x.dtype(), x.device());
    VG_DISPATCH(x.device(), softmax_fwd, xd, yt, log);
    // y gets its own handle even when no view is needed: the backward saves yt, and saving the
    // output's own handle (which record() gives a grad_fn) would make a node <-> output cycle.
    Tensor y = x.dim() == 0 ? yt.reshape({}) : (d != last ? yt.transpose(d, last) : yt.detach());
    return record(
        name, y, {x},
        [yt, d, last, log, xs = x.shape()](const std::vector<Tensor>& g, const std::vector<bool>&) {
            Tensor gt = xs.size() == 0 ? g[0].reshape({1}) : g[0];
            if (d != last) gt = gt.transpose(d, last);
            gt = gt.contiguous();
            Tensor dxt = Tensor::empty(yt.shape(), yt.dtype(), yt.device());
            VG_DISPATCH(yt.device(), softmax_bwd, yt, gt, dxt, log);
            Tensor dx = d != last ? dxt.transpose(d, last) : dxt;
            return std::vector<Tensor>{dx.reshape(xs)};
        });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl("softmax", x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) {
    return softmax_impl("log_softmax", x, dim, true);
}

}  // namespace vg
