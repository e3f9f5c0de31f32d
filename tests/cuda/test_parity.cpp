// CUDA against CPU for every op-table row: forward and every input gradient, float32 and float64,
// on the four layouts. A row that cannot run on CUDA fails the suite, so the table is also the
// CUDA coverage list. Skipped (with a message) where no CUDA device is present.
#include <cmath>
#include <set>

#include "tests/helpers.h"
#include "tests/ops/op_cases.h"

using namespace vg;
using namespace vg::test;

namespace {

// Float64 differs only by libm-vs-CUDA last-bit rounding and summation order; float32 adds its own
// rounding on top. Tolerances scale with the largest value of the reference tensor.
struct Tol {
    double atol, rtol;
};
Tol tol_for(DType dt) { return dt == DType::F64 ? Tol{1e-9, 1e-7} : Tol{1e-4, 1e-4}; }

// Empty when `got` (from CUDA) matches `want` (from the CPU), else a description of the worst
// element.
std::string compare(const Tensor& want, const Tensor& got, Tol tol) {
    if (want.defined() != got.defined())
        return fmt::format("defined on {} only", want.defined() ? "cpu" : "cuda");
    if (!want.defined()) return {};
    if (!got.device().is_cuda()) return fmt::format("result is on {}, not cuda", got.device());
    if (want.shape() != got.shape() || want.dtype() != got.dtype())
        return fmt::format("cpu gave {}, cuda gave {}", want.desc(), got.desc());
    std::vector<double> a = want.to_vector(), b = got.to_vector();
    double scale = 0;
    for (double v : a)
        if (std::isfinite(v)) scale = std::max(scale, std::abs(v));
    size_t worst = 0;
    double worst_excess = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(a[i]) && std::isnan(b[i])) continue;
        if (a[i] == b[i]) continue;
        double err = std::abs(a[i] - b[i]);
        double allowed = tol.atol * (1 + scale) + tol.rtol * std::abs(a[i]);
        if (!(err <= allowed) && (err - allowed > worst_excess || std::isnan(err))) {
            worst = i;
            worst_excess = std::isnan(err) ? INFINITY : err - allowed;
        }
    }
    if (worst_excess == 0) return {};
    return fmt::format("element {}: cpu {:.17g} vs cuda {:.17g}", worst, a[worst], b[worst]);
}

struct RunResult {
    Tensor y;
    std::vector<Tensor> grads;
};

// Runs row `c` on `leaves` (all on one device) under layout `l`, then backward with a seeded
// random output gradient when the row is differentiable.
RunResult run_row(const OpCase& c, Layout l, DType dt, const std::vector<Tensor>& leaves) {
    std::vector<Tensor> views;
    for (size_t i = 0; i < leaves.size(); ++i)
        views.push_back(layout_view(l, leaves[i], c.shapes[i]));
    RunResult r;
    r.y = c.fn(views);
    if (c.differentiable && r.y.requires_grad() && is_floating(r.y.dtype()))
        r.y.backward(uniform(r.y.shape(), -1, 1, dt, 99).to(r.y.device()));
    for (const Tensor& leaf : leaves) r.grads.push_back(leaf.grad());
    return r;
}

}  // namespace

TEST_CASE("cuda parity: every op-table row, forward and gradients, f32 and f64, every layout") {
    VG_REQUIRE_CUDA();
    auto cases = all_op_cases();
    REQUIRE(cases.size() > 30);
    std::set<std::string> ran_on_cuda, cuda_failed, cpu_failed;
    int compared = 0;
    for (const OpCase& c : cases) {
        for (DType dt : {DType::F64, DType::F32}) {
            for (Layout l :
                 {Layout::Contiguous, Layout::Transposed, Layout::Offset, Layout::Broadcast}) {
                if (l == Layout::Broadcast && !c.broadcast_ok) continue;
                bool applies = l == Layout::Contiguous;
                for (const Shape& s : c.shapes) applies |= layout_applies(l, s);
                if (!applies) continue;
                std::string where =
                    fmt::format("{} [{}, {}]", c.name, layout_name(l), dtype_name(dt));
                INFO(where);

                std::vector<Tensor> cpu_leaves, cuda_leaves;
                uint64_t seed = 11;
                for (const Shape& s : c.shapes) {
                    Tensor leaf = uniform(leaf_shape(l, s), c.lo, c.hi, dt, seed++);
                    cpu_leaves.push_back(leaf.detach().requires_grad_(c.differentiable));
                    cuda_leaves.push_back(leaf.to(Device::cuda()).requires_grad_(c.differentiable));
                }
                // Rows drawing from the global generator must see the same stream on both devices.
                Generator saved = default_generator();
                RunResult want, got;
                try {
                    want = run_row(c, l, dt, cpu_leaves);
                } catch (const std::exception& e) {
                    // A row failing on the CPU is the gradcheck suite's to report.
                    MESSAGE(where, ": the CPU reference failed (", e.what(), "); not compared");
                    cpu_failed.insert(c.name);
                    default_generator() = saved;
                    continue;
                }
                Generator after_cpu = default_generator();
                default_generator() = saved;
                try {
                    got = run_row(c, l, dt, cuda_leaves);
                } catch (const std::exception& e) {
                    cuda_failed.insert(c.name);
                    FAIL_CHECK(where, " cannot run on CUDA: ", e.what());
                    default_generator() = after_cpu;
                    continue;
                }
                ran_on_cuda.insert(c.name);
                std::string d = compare(want.y, got.y, tol_for(dt));
                CHECK_MESSAGE(d.empty(), where, " forward: ", d);
                for (size_t i = 0; i < want.grads.size(); ++i) {
                    d = compare(want.grads[i], got.grads[i], tol_for(dt));
                    CHECK_MESSAGE(d.empty(), where, " gradient of input ", i, ": ", d);
                }
                ++compared;
            }
        }
    }
    // Coverage: every row that runs on the CPU must run on CUDA too.
    std::string missing;
    for (const OpCase& c : cases)
        if ((!ran_on_cuda.count(c.name) && !cpu_failed.count(c.name)) || cuda_failed.count(c.name))
            missing += " " + c.name;
    CHECK_MESSAGE(missing.empty(), "op-table rows that do not run on CUDA:", missing);
    MESSAGE("compared ", compared, " (row, layout, dtype) runs of ", cases.size(),
            " op-table rows");
}
