// record(): attach a backward Node to an op's outputs, only when some input requires grad and
// grad mode is on, so inference pays nothing.
#pragma once
#include <vector>

#include "autograd/node.h"

namespace vg {

// True when an op over these inputs must record history.
bool needs_record(const std::vector<Tensor>& inputs);

// Records `fn` as the backward of `outputs` (modified in place to carry grad_fn). The lambda
// must capture detach()ed tensors by value (never the outputs themselves with history: that
// would form a node <-> output cycle).
void record(const char* name, std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
            BackwardFn fn);

// Single-output convenience; returns `output`.
Tensor record(const char* name, Tensor output, const std::vector<Tensor>& inputs, BackwardFn fn);

}  // namespace vg
