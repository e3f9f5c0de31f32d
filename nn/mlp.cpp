// Mlp module.
#include "nn/mlp.h"

namespace vg::nn {

Mlp::Mlp(int64_t in, int64_t hidden, double p) {
    fc1 = register_module("fc1", std::make_shared<Linear>(in, hidden));
    act = register_module("act", std::make_shared<GELU>());
    fc2 = register_module("fc2", std::make_shared<Linear>(hidden, in));
    drop = register_module("drop", std::make_shared<Dropout>(p));
}

Tensor Mlp::forward(const Tensor& x) const {
    Tensor h = drop->forward(act->forward(fc1->forward(x)));
    return drop->forward(fc2->forward(h));
}

}  // namespace vg::nn
