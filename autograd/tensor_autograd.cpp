// Tensor's autograd surface: requires_grad, grad, backward, detach, retain_grad, hooks.
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace vg {

AutogradMeta& Tensor::ensure_autograd_meta() const {
    auto& m = impl().autograd;
    if (!m) m = std::make_shared<AutogradMeta>();
    return *m;
}

bool Tensor::requires_grad() const {
    const AutogradMeta* m = autograd_meta();
    return m && m->requires_grad;
}

Tensor& Tensor::requires_grad_(bool value) {
    if (value && !is_floating(dtype()))
        fail("requires_grad_", "only float tensors can require grad, got {}", desc());
    AutogradMeta* m = autograd_meta();
    if (m && m->grad_fn && !value)
        fail("requires_grad_",
             "cannot turn off requires_grad on a non-leaf tensor {} (use detach())", desc());
    ensure_autograd_meta().requires_grad = value;
    return *this;
}

bool Tensor::is_leaf() const {
    const AutogradMeta* m = autograd_meta();
    return !m || !m->grad_fn;
}

Tensor Tensor::grad() const {
    const AutogradMeta* m = autograd_meta();
    return m ? m->grad : Tensor();
}

void Tensor::set_grad(const Tensor& g) const { ensure_autograd_meta().grad = g; }

Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
    Tensor g = grad;
    if (!g.defined()) {
        if (numel() != 1)
            fail("backward",
                 "a gradient must be given for a non-scalar output {}; backward() "
                 "without arguments works only on one-element tensors",
                 desc());
        g = Tensor::ones(shape(), dtype(), device());
    } else if (g.shape() != shape() || g.dtype() != dtype() || g.device() != device()) {
        fail("backward", "gradient {} does not match the output {}", g.desc(), desc());
    }
    run_backward(*this, g, retain_graph);
}

void Tensor::register_hook(GradHook hook) const {
    if (!requires_grad()) fail("register_hook", "the tensor {} does not require grad", desc());
    AutogradMeta& m = *impl().autograd;
    if (!m.grad_fn) {
        m.hooks.push_back(std::move(hook));
        return;
    }
    auto& hooks = m.grad_fn->output_hooks;
    if (hooks.size() < m.grad_fn->outputs.size()) hooks.resize(m.grad_fn->outputs.size());
    hooks[size_t(m.output_nr)].push_back(std::move(hook));
}

void Tensor::retain_grad() const {
    if (!requires_grad()) fail("retain_grad", "the tensor {} does not require grad", desc());
    if (is_leaf()) return;  // leaves keep their gradient anyway
    // A weak reference: the node must not keep the tensor's metadata alive (no cycles).
    std::weak_ptr<AutogradMeta> weak = impl().autograd;
    register_hook([weak](const Tensor& g) {
        if (auto m = weak.lock()) m->grad = m->grad.defined() ? m->grad + g : g.detach().clone();
    });
}

void check_inplace(const Tensor& t, const char* op) {
    if (GradMode::enabled() && t.requires_grad())
        fail(op, "in-place write to {} which requires grad (do it under NoGradGuard)", t.desc());
}

}  // namespace vg
