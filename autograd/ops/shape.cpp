// Shape ops that move data: cat, stack, pad (one copy into a preallocated output each; backward
// is narrow views of the gradient), split (views, whose backward the view ops already give) and
// unbind (views whose backward is one stacking copy).
#include "autograd/ops.h"
#include "autograd/record.h"
#include "core/dispatch.h"

namespace vg {

// xs: [..., n_i, ...] along dim -> [..., sum n_i, ...].
Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
    if (xs.empty()) fail("cat", "expected a non-empty list of tensors");
    for (size_t i = 0; i < xs.size(); ++i) check_defined("cat", xs[i]);
    const Tensor& first = xs[0];
    if (first.dim() == 0)
        fail("cat", "zero-dimensional tensor {} cannot be concatenated", first.desc());
    int d = wrap_dim(dim, first.dim(), "cat");
    Shape out = first.shape();
    out[d] = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
        const Tensor& x = xs[i];
        check_same_device("cat", {&first, &x});
        check_same_dtype("cat", {&first, &x});
        bool match = x.dim() == first.dim();
        for (int k = 0; match && k < x.dim(); ++k)
            match = k == d || x.shape()[k] == first.shape()[k];
        if (!match)
            fail("cat",
                 "tensor {} has shape {} but tensor 0 has shape {}: shapes must match except in "
                 "dim {}",
                 i, x.shape().str(), first.shape().str(), d);
        out[d] += x.shape()[d];
    }
    Tensor y = Tensor::empty(out, first.dtype(), first.device());
    std::vector<int64_t> starts;
    int64_t start = 0;
    for (const Tensor& x : xs) {
        starts.push_back(start);
        Tensor dst = y.narrow(d, start, x.shape()[d]);
        VG_DISPATCH(y.device(), copy, x.detach(), dst);
        start += x.shape()[d];
    }
    std::vector<int64_t> lengths;
    for (const Tensor& x : xs) lengths.push_back(x.shape()[d]);
    return record(
        "cat", y, xs,
        [d, starts, lengths](const std::vector<Tensor>& g, const std::vector<bool>& needs) {
            std::vector<Tensor> dx(starts.size());
            for (size_t i = 0; i < starts.size(); ++i)
                if (needs[i]) dx[i] = g[0].narrow(d, starts[i], lengths[i]);
            return dx;
        });
}

// xs: N tensors of one shape [...] -> a new dim of size N at `dim`.
Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
    if (xs.empty()) fail("stack", "expected a non-empty list of tensors");
    for (size_t i = 0; i < xs.size(); ++i) {
        check_defined("stack", xs[i]);
        if (xs[i].shape() != xs[0].shape())
            fail("stack", "tensor {} has shape {} but tensor 0 has shape {}: all shapes must match",
                 i, xs[i].shape().str(), xs[0].shape().str());
    }
    int d = wrap_dim(dim, xs[0].dim() + 1, "stack");
    std::vector<Tensor> parts;
    for (const Tensor& x : xs) parts.push_back(x.unsqueeze(d));
    return cat(parts, d);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
    check_defined("split", x);
    if (x.dim() == 0) fail("split", "cannot split a 0-d tensor {}", x.desc());
    int d = wrap_dim(dim, x.dim(), "split");
    int64_t total = 0;
    for (int64_t s : sizes) {
        if (s < 0) fail("split", "negative chunk size {} for {}", s, x.desc());
        total += s;
    }
    if (total != x.shape()[d])
        fail("split", "chunk sizes sum to {} but dim {} of {} has extent {}", total, d, x.desc(),
             x.shape()[d]);
    std::vector<Tensor> out;
    int64_t start = 0;
    for (int64_t s : sizes) {
        out.push_back(x.narrow(d, start, s));
        start += s;
    }
    return out;
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
    check_defined("unbind", x);
    if (x.dim() == 0) fail("unbind", "cannot unbind a 0-d tensor {}", x.desc());
    int d = wrap_dim(dim, x.dim(), "unbind");
    Tensor xd = x.detach();
    std::vector<Tensor> out;
    for (int64_t i = 0; i < x.shape()[d]; ++i) out.push_back(xd.select(d, i));
    record("unbind", out, {x},
           [d, xs = x.shape()](const std::vector<Tensor>& g, const std::vector<bool>&) {
               // The engine hands zeros for outputs nothing used, so every slot is written.
               Tensor dx = Tensor::empty(xs, g[0].dtype(), g[0].device());
               for (size_t i = 0; i < g.size(); ++i) {
                   Tensor slot = dx.select(d, int64_t(i));
                   VG_DISPATCH(dx.device(), copy, g[i], slot);
               }
               return std::vector<Tensor>{dx};
           });
    return out;
}

// Constant padding; pads = (before, after) pairs starting from the last dim, as F.pad.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
    check_defined("pad", x);
    if (pads.size() % 2 != 0 || int(pads.size()) > 2 * x.dim())
        fail("pad", "expected an even number of pads, at most 2 per dim, got {} for {}",
             pads.size(), x.desc());
    for (int64_t p : pads)
        if (p < 0) fail("pad", "negative padding {} is not supported (input {})", p, x.desc());
    Shape out = x.shape();
    for (size_t i = 0; i < pads.size() / 2; ++i)
        out[x.dim() - 1 - int(i)] += pads[2 * i] + pads[2 * i + 1];
    Tensor y = Tensor::full(out, value, x.dtype(), x.device());
    // The interior that holds x, in y (forward) or in the gradient (backward).
    auto interior = [pads, xs = x.shape()](Tensor t) {
        for (size_t i = 0; i < pads.size() / 2; ++i) {
            int d = xs.size() - 1 - int(i);
            t = t.narrow(d, pads[2 * i], xs[d]);
        }
        return t;
    };
    Tensor dst = interior(y);
    VG_DISPATCH(y.device(), copy, x.detach(), dst);
    return record("pad", y, {x},
                  [interior](const std::vector<Tensor>& g, const std::vector<bool>&) {
                      return std::vector<Tensor>{interior(g[0])};
                  });
}

}  // namespace vg
