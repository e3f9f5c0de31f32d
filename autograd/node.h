// Node: one recorded op in the define-by-run tape: its backward function and where its input
// gradients go. AutogradMeta: the autograd state a tensor carries.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace vg {

struct Node;

struct AutogradMeta {
    bool requires_grad = false;
    Tensor grad;                    // leaves, and non-leaves that retain_grad()
    std::shared_ptr<Node> grad_fn;  // producer; null for leaves
    int output_nr = 0;              // which output of grad_fn this tensor is
    std::vector<GradHook> hooks;    // leaf hooks (non-leaf hooks live on the node)
};

// Where one input's gradient goes: into a producer node's output slot, into a leaf's .grad, or
// nowhere (the input does not require grad).
struct Edge {
    std::shared_ptr<Node> node;
    int output_nr = 0;
    std::shared_ptr<AutogradMeta> leaf;
    bool valid() const { return node || leaf; }
};

// Backward: given the gradient of every output (zeros for outputs nothing used) and which inputs
// need a gradient, returns one gradient per input (undefined where not needed).
using BackwardFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& grads,
                                                     const std::vector<bool>& needs)>;

struct OutputInfo {
    Shape shape;
    DType dtype;
    Device device;
};

struct Node {
    const char* name = "";
    uint64_t seq = 0;  // creation order: a node is always younger than its inputs' nodes
    std::vector<Edge> next;
    std::vector<OutputInfo> outputs;
    BackwardFn backward;  // released (and saved tensors freed) after it runs, unless retained
    bool released = false;
    std::vector<std::vector<GradHook>> output_hooks;
};

}  // namespace vg
