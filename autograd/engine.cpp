// Backward: collect the nodes reachable from the root, run them youngest first (node seq is a
// valid reverse topological order, because a node is created after its inputs' nodes), add each
// result into the producer's slot or the leaf's .grad, and free each backward as soon as it ran.
#include "autograd/engine.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace vg {

namespace {

void call_hooks(const std::vector<GradHook>& hooks, const Tensor& g) {
    for (const GradHook& h : hooks) h(g);
}

void accumulate_leaf(AutogradMeta& leaf, const Tensor& g) {
    call_hooks(leaf.hooks, g);
    if (!leaf.grad.defined()) {
        // A private copy: `g` may alias another leaf's gradient (a + b hands both the same dy).
        leaf.grad = g.detach().clone();
    } else {
        leaf.grad.add_(g);
    }
}

std::vector<Node*> reachable_youngest_first(Node* root) {
    std::vector<Node*> order, stack{root};
    std::unordered_set<Node*> seen{root};
    while (!stack.empty()) {
        Node* n = stack.back();
        stack.pop_back();
        order.push_back(n);
        for (const Edge& e : n->next)
            if (e.node && seen.insert(e.node.get()).second) stack.push_back(e.node.get());
    }
    std::sort(order.begin(), order.end(), [](Node* a, Node* b) { return a->seq > b->seq; });
    return order;
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
    NoGradGuard no_grad;
    AutogradMeta* meta = root.autograd_meta();
    if (!meta || !meta->requires_grad)
        fail("backward", "the tensor {} does not require grad and has no grad_fn", root.desc());
    if (!meta->grad_fn) {
        accumulate_leaf(*meta, grad);
        return;
    }
    std::unordered_map<Node*, std::vector<Tensor>> pending;
    auto slot = [&](Node* n) -> std::vector<Tensor>& {
        auto& v = pending[n];
        if (v.empty()) v.resize(n->outputs.size());
        return v;
    };
    slot(meta->grad_fn.get())[meta->output_nr] = grad;

    for (Node* node : reachable_youngest_first(meta->grad_fn.get())) {
        auto it = pending.find(node);
        if (it == pending.end()) continue;  // reachable, but no gradient flowed into it
        std::vector<Tensor> grads = std::move(it->second);
        pending.erase(it);
        if (node->released)
            fail(node->name,
                 "backward through this part of the graph a second time; its saved tensors were "
                 "freed after the first backward (pass retain_graph=true to the first call)");
        for (size_t i = 0; i < grads.size(); ++i) {
            if (!grads[i].defined()) {
                const OutputInfo& o = node->outputs[i];
                grads[i] = Tensor::zeros(o.shape, o.dtype, o.device);
            }
            if (i < node->output_hooks.size()) call_hooks(node->output_hooks[i], grads[i]);
        }
        std::vector<bool> needs(node->next.size());
        for (size_t i = 0; i < needs.size(); ++i) needs[i] = node->next[i].valid();
        std::vector<Tensor> input_grads = node->backward(grads, needs);
        if (input_grads.size() != node->next.size())
            fail(node->name, "backward returned {} gradients for {} inputs", input_grads.size(),
                 node->next.size());
        if (!retain_graph) {
            node->backward = nullptr;  // frees the saved tensors now
            node->released = true;
        }
        for (size_t i = 0; i < input_grads.size(); ++i) {
            const Edge& e = node->next[i];
            const Tensor& g = input_grads[i];
            if (!e.valid() || !g.defined()) continue;
            if (e.leaf) {
                accumulate_leaf(*e.leaf, g);
            } else {
                Tensor& acc = slot(e.node.get())[e.output_nr];
                acc = acc.defined() ? add(acc, g) : g;
            }
        }
    }
}

}  // namespace vg
