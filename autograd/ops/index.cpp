// Indexing ops: gather (adjoint scatter_add), index_select (adjoint index_add) and one_hot. Every
// index is range-checked before a kernel reads memory, so a bad label is an error, not a crash.
#include "autograd/ops.h"
#include "autograd/record.h"
#include "core/dispatch.h"

namespace vg {

namespace {

void check_index_tensor(const char* op, const Tensor& x, const Tensor& index) {
    check_defined(op, x);
    check_defined(op, index, "index");
    check_same_device(op, {&x, &index});
    if (index.dtype() != DType::I64) fail(op, "index must be int64, got {}", index.desc());
}

// Products of the extents before and after `d`: the [O, R, I] view the kernels work on.
int64_t outer(const Shape& s, int d) {
    int64_t n = 1;
    for (int k = 0; k < d; ++k) n *= s[k];
    return n;
}
int64_t inner(const Shape& s, int d) {
    int64_t n = 1;
    for (int k = d + 1; k < s.size(); ++k) n *= s[k];
    return n;
}

}  // namespace

// x: [..., Rx, ...], index: [..., Rj, ...] (int64, extents <= x's off `dim`) -> y like index.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
    check_index_tensor("gather", x, index);
    if (index.dim() != x.dim())
        fail("gather", "index {} must have the rank of the input {}", index.desc(), x.desc());
    int d = wrap_dim(dim, x.dim(), "gather");
    // The kernel indexes x at the index's own positions off `dim`, so x is cut to those extents.
    Tensor xv = x.detach();
    bool cut = false;
    for (int k = 0; k < x.dim(); ++k) {
        if (k == d) continue;
        if (index.shape()[k] > x.shape()[k])
            fail("gather", "index {} is larger than the input {} in dim {}", index.desc(), x.desc(),
                 k);
        if (index.shape()[k] < x.shape()[k]) {
            xv = xv.narrow(k, 0, index.shape()[k]);
            cut = true;
        }
    }
    xv = xv.contiguous();
    Tensor idx = index.contiguous();
    int64_t Rx = x.dim() ? x.shape()[d] : 1, Rj = index.dim() ? index.shape()[d] : 1;
    int64_t O = outer(idx.shape(), d), I = inner(idx.shape(), d);
    Tensor y = Tensor::empty(index.shape(), x.dtype(), x.device());
    if (y.numel() == 0) return y;
    VG_DISPATCH(x.device(), check_indices, idx, Rx, "gather");
    VG_DISPATCH(x.device(), gather, xv, idx, O, Rx, Rj, I, y);
    return record("gather", y, {x},
                  [idx, cut, O, Rx, Rj, I, xs = x.shape(), cs = xv.shape()](
                      const std::vector<Tensor>& g, const std::vector<bool>&) {
                      Tensor src = g[0].contiguous();
                      Tensor dx = Tensor::zeros(cut ? cs : xs, src.dtype(), src.device());
                      VG_DISPATCH(src.device(), scatter_add, dx, idx, src, O, Rx, Rj, I);
                      if (!cut) return std::vector<Tensor>{dx};
                      Tensor full = Tensor::zeros(xs, src.dtype(), src.device());
                      Tensor region = full;
                      for (int k = 0; k < cs.size(); ++k) region = region.narrow(k, 0, cs[k]);
                      region.copy_(dx);
                      return std::vector<Tensor>{full};
                  });
}

// x: [..., Rx, ...], index: [J] int64 -> [..., J, ...].
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
    check_index_tensor("index_select", x, index);
    if (index.dim() != 1) fail("index_select", "index must be 1-D, got {}", index.desc());
    if (x.dim() == 0) fail("index_select", "cannot index a 0-d tensor {}", x.desc());
    int d = wrap_dim(dim, x.dim(), "index_select");
    Tensor xc = x.detach().contiguous();
    Tensor idx = index.contiguous();
    int64_t Rx = x.shape()[d], Rj = index.numel();
    int64_t O = outer(x.shape(), d), I = inner(x.shape(), d);
    Shape out = x.shape();
    out[d] = Rj;
    Tensor y = Tensor::empty(out, x.dtype(), x.device());
    if (Rj > 0) VG_DISPATCH(x.device(), check_indices, idx, Rx, "index_select");
    if (y.numel() == 0) return y;
    VG_DISPATCH(x.device(), index_select, xc, idx, O, Rx, Rj, I, y);
    return record("index_select", y, {x},
                  [idx, O, Rx, Rj, I, xs = x.shape()](const std::vector<Tensor>& g,
                                                      const std::vector<bool>&) {
                      Tensor src = g[0].contiguous();
                      Tensor dx = Tensor::zeros(xs, src.dtype(), src.device());
                      VG_DISPATCH(src.device(), index_add, dx, idx, src, O, Rx, Rj, I);
                      return std::vector<Tensor>{dx};
                  });
}

// labels: [...] int64 -> [..., K] of `dtype`, built as (arange(K) == label) so that both
// backends share it.
Tensor one_hot(const Tensor& labels, int64_t num_classes, DType dtype) {
    check_defined("one_hot", labels, "labels");
    if (labels.dtype() != DType::I64)
        fail("one_hot", "labels must be int64, got {}", labels.desc());
    if (num_classes <= 0) fail("one_hot", "num_classes must be positive, got {}", num_classes);
    if (!is_floating(dtype))
        fail("one_hot", "output dtype must be float32 or float64, got {}", dtype_name(dtype));
    Tensor l = labels.contiguous();
    if (l.numel() > 0) VG_DISPATCH(l.device(), check_indices, l, num_classes, "one_hot");
    Tensor classes = Tensor::arange(num_classes, dtype, l.device());
    return eq(l.to(dtype).unsqueeze(-1), classes);
}

}  // namespace vg
