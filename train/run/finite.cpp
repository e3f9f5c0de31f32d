// One-transfer finiteness check over named tensors.
#include "train/run/finite.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace vg {

std::string first_nonfinite(const std::vector<std::pair<std::string, Tensor>>& tensors) {
    NoGradGuard no_grad;
    std::vector<Tensor> sums;
    std::vector<const std::string*> names;
    for (const auto& [name, t] : tensors) {
        if (!t.defined() || t.numel() == 0 || !is_floating(t.dtype())) continue;
        sums.push_back(sum(mul_scalar(t.detach(), 0.0)).to(DType::F64));
        names.push_back(&name);
    }
    if (sums.empty()) return "";
    std::vector<double> s = stack(sums, 0).cpu().to_vector();
    for (size_t i = 0; i < s.size(); ++i)
        if (s[i] != 0) return *names[i];  // NaN != 0 as well
    return "";
}

std::string first_nonfinite(const std::map<std::string, Tensor>& tensors) {
    return first_nonfinite(
        std::vector<std::pair<std::string, Tensor>>(tensors.begin(), tensors.end()));
}

}  // namespace vg
