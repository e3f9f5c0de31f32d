// One backward pass gives the whole vector-Jacobian product of L = sum(r * f(x)); each input
// element is then perturbed by +-eps to compare against the numerical derivative of L.
#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace vg {

namespace {
double weighted_sum(const Tensor& out, const Tensor& r) {
    NoGradGuard ng;
    return sum(out.to(DType::F64) * r).item();
}
}  // namespace

GradcheckResult gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opt) {
    for (const Tensor& x : inputs)
        if (x.requires_grad() && (x.dtype() != DType::F64 || !x.is_leaf() || !x.is_contiguous()))
            fail("gradcheck", "inputs must be contiguous float64 leaves, got {}", x.desc());
    for (const Tensor& x : inputs)
        if (x.requires_grad()) x.set_grad(Tensor());

    Tensor out = f(inputs);
    Generator gen(opt.seed);
    Tensor r = Tensor::rand(out.shape(), DType::F64, out.device(), &gen);
    Tensor loss = sum(out.to(DType::F64) * r);
    if (loss.requires_grad()) loss.backward();

    GradcheckResult res;
    for (size_t k = 0; k < inputs.size(); ++k) {
        const Tensor& x = inputs[k];
        if (!x.requires_grad()) continue;
        Tensor analytic = x.grad().defined() ? x.grad() : Tensor::zeros(x.shape(), DType::F64);
        std::vector<double> a = analytic.contiguous().to_vector();
        // Elements are perturbed through a one-element view of the leaf's own storage, written
        // with fill_, so a CUDA leaf is written by a kernel, never through a host pointer.
        Tensor flat = x.detach().view({x.numel()});
        std::vector<double> orig = flat.to_vector();
        NoGradGuard no_grad;  // the perturbed evaluations need no graph
        for (int64_t i = 0; i < x.numel(); ++i) {
            Tensor elem = flat.narrow(0, i, 1);
            elem.fill_(orig[size_t(i)] + opt.eps);
            double plus = weighted_sum(f(inputs), r);
            elem.fill_(orig[size_t(i)] - opt.eps);
            double minus = weighted_sum(f(inputs), r);
            elem.fill_(orig[size_t(i)]);
            double numeric = (plus - minus) / (2 * opt.eps);
            double err = std::fabs(a[size_t(i)] - numeric);
            bool bad = !(err <= opt.atol + opt.rtol * std::fabs(numeric));
            if (err > res.max_abs_error || (bad && res.ok) || std::isnan(err)) {
                if (!std::isnan(err)) res.max_abs_error = std::max(res.max_abs_error, err);
                if (bad && res.ok) {
                    res.ok = false;
                    res.message = fmt::format(
                        "input {} ({}), element {}: analytic {:.8g} vs numeric {:.8g} (|diff| "
                        "{:.3g})",
                        k, x.desc(), i, a[size_t(i)], numeric, err);
                }
            }
        }
    }
    return res;
}

}  // namespace vg
