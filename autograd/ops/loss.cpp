// Cross-entropy losses, composed from log_softmax so that autograd derives their backward:
// mean over the batch of -sum_k target_k * log_softmax(logits)_k.
#include "autograd/ops.h"

namespace vg {

namespace {

void check_logits(const char* op, const Tensor& logits) {
    check_defined(op, logits, "logits");
    if (!is_floating(logits.dtype()))
        fail(op, "logits must be float32 or float64, got {}", logits.desc());
    if (logits.dim() != 2) fail(op, "logits must be 2-D [B, K], got {}", logits.desc());
}

Tensor soft_loss(const Tensor& logits, const Tensor& target) {
    return neg(mean(sum(target * log_softmax(logits, 1), {1})));
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, double label_smoothing) {
    check_logits("cross_entropy", logits);
    check_defined("cross_entropy", labels, "labels");
    check_same_device("cross_entropy", {&logits, &labels});
    int64_t B = logits.shape()[0], K = logits.shape()[1];
    if (labels.dtype() != DType::I64)
        fail("cross_entropy", "labels must be int64, got {}", labels.desc());
    if (labels.dim() != 1 || labels.shape()[0] != B)
        fail("cross_entropy", "labels must be [{}] to match logits {}, got {}", B, logits.desc(),
             labels.desc());
    if (label_smoothing < 0 || label_smoothing > 1)
        fail("cross_entropy", "label_smoothing must be in [0, 1], got {}", label_smoothing);
    // B labels are few: checking them on the host is cheap and names the bad one.
    std::vector<int64_t> ls = labels.to_vector_i64();
    for (size_t i = 0; i < ls.size(); ++i)
        if (ls[i] < 0 || ls[i] >= K)
            fail("cross_entropy", "label {} at position {} is outside [0, {}) for logits {}", ls[i],
                 i, K, logits.desc());
    // target [B, K] = (1 - s) * one_hot(labels) + s / K, built on the logits' device.
    DType dt = logits.dtype();
    Tensor classes = Tensor::arange(K, dt, logits.device());
    Tensor hot = eq(classes, labels.to(dt).reshape({B, 1}));
    Tensor target = label_smoothing == 0.0 ? hot
                                           : add_scalar(mul_scalar(hot, 1.0 - label_smoothing),
                                                        label_smoothing / double(K));
    return soft_loss(logits, target);
}

Tensor cross_entropy_soft(const Tensor& logits, const Tensor& targets) {
    check_logits("cross_entropy_soft", logits);
    check_defined("cross_entropy_soft", targets, "targets");
    check_same_device("cross_entropy_soft", {&logits, &targets});
    check_same_dtype("cross_entropy_soft", {&logits, &targets});
    if (targets.shape() != logits.shape())
        fail("cross_entropy_soft", "targets {} must have the shape of logits {}", targets.desc(),
             logits.desc());
    return soft_loss(logits, targets);
}

}  // namespace vg
