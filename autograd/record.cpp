// record(): builds a Node whose edges point at the inputs' producers or leaf gradient slots.
#include "autograd/record.h"

#include <atomic>

#include "autograd/grad_mode.h"

namespace vg {

namespace {
std::atomic<uint64_t> next_seq{0};
}

bool needs_record(const std::vector<Tensor>& inputs) {
    if (!GradMode::enabled()) return false;
    for (const Tensor& t : inputs)
        if (t.defined() && t.requires_grad()) return true;
    return false;
}

void record(const char* name, std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
            BackwardFn fn) {
    if (!needs_record(inputs)) return;
    auto node = std::make_shared<Node>();
    node->name = name;
    node->seq = next_seq++;
    node->backward = std::move(fn);
    node->next.reserve(inputs.size());
    for (const Tensor& t : inputs) {
        Edge e;
        if (t.defined() && t.requires_grad()) {
            AutogradMeta* m = t.autograd_meta();
            if (m->grad_fn) {
                e.node = m->grad_fn;
                e.output_nr = m->output_nr;
            } else {
                e.leaf = t.impl().autograd;
            }
        }
        node->next.push_back(std::move(e));
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
        Tensor& out = outputs[i];
        node->outputs.push_back({out.shape(), out.dtype(), out.device()});
        // Outputs are fresh tensors (or fresh views), so their metadata is theirs alone.
        auto meta = std::make_shared<AutogradMeta>();
        meta->requires_grad = true;
        meta->grad_fn = node;
        meta->output_nr = int(i);
        out.impl().autograd = std::move(meta);
    }
}

Tensor record(const char* name, Tensor output, const std::vector<Tensor>& inputs, BackwardFn fn) {
    std::vector<Tensor> outs{output};
    record(name, outs, inputs, std::move(fn));
    return outs[0];
}

}  // namespace vg
