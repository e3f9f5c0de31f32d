// Attention-map refiner (Refiner's DLA).
#include "nn/attention_refiner.h"

#include "autograd/ops.h"

namespace vg::nn {

AttentionRefiner::AttentionRefiner(int64_t h, int64_t e, int64_t k)
    : num_heads(h), expand_ratio(e), kernel(k) {
    if (h <= 0 || e <= 0 || k <= 0 || k % 2 == 0)
        fail("AttentionRefiner",
             "needs positive heads and expansion ratio and an odd kernel (\"same\" padding), got "
             "heads {} expand_ratio {} kernel {}",
             h, e, k);
    const int64_t hidden = h * e;
    if (e != 1) {
        conv_exp =
            register_module("conv_exp", std::make_shared<Conv2d>(h, hidden, 1, 1, 0, 1, false));
        bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(hidden));
    }
    // Stride 1 and an odd kernel: TensorFlow-style "same" padding is (k - 1) / 2 on every side.
    depth_sep_conv =
        register_module("depth_sep_conv",
                        std::make_shared<Conv2d>(hidden, hidden, k, 1, (k - 1) / 2, hidden, false));
    bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(hidden));
    conv_pro = register_module("conv_pro", std::make_shared<Conv2d>(hidden, h, 1, 1, 0, 1, false));
    bn3 = register_module("bn3", std::make_shared<BatchNorm2d>(h));
}

int64_t attention_refiner_parameters(int64_t h, int64_t e, int64_t k) {
    const int64_t hidden = h * e;
    const int64_t expand = e != 1 ? h * hidden + 2 * hidden : 0;  // conv_exp, bn1
    return expand + hidden * k * k + 2 * hidden /* depthwise, bn2 */ + hidden * h + 2 * h;
}

int64_t attention_refiner_macs(int64_t h, int64_t e, int64_t k, int64_t T) {
    const int64_t hidden = h * e;
    return T * T * ((e != 1 ? h * hidden : 0) + hidden * k * k + hidden * h);
}

Tensor AttentionRefiner::forward(const Tensor& a) const {
    if (a.dim() != 4 || a.size(1) != num_heads || a.size(2) != a.size(3))
        fail("AttentionRefiner", "expected attention maps [B, {}, T, T], got {}", num_heads,
             a.desc());
    Tensor x = conv_exp ? relu6(bn1->forward(conv_exp->forward(a))) : a;
    x = relu6(bn2->forward(depth_sep_conv->forward(x)));
    return bn3->forward(conv_pro->forward(x)) + a;
}

}  // namespace vg::nn
