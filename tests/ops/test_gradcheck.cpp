// Every op-table row, on every layout variant, against float64 central differences.
#include "autograd/gradcheck.h"
#include "tests/helpers.h"
#include "tests/ops/op_cases.h"

using namespace vg;
using namespace vg::test;

TEST_CASE("gradcheck: every op-table row on every layout") {
    auto cases = all_op_cases();
    REQUIRE(cases.size() > 30);
    int checked = 0;
    for (const OpCase& c : cases) {
        if (!c.differentiable) continue;
        for (Layout l : {Layout::Contiguous, Layout::Transposed, Layout::Offset, Layout::Broadcast}) {
            if (l == Layout::Broadcast && !c.broadcast_ok) continue;
            bool applies = false;
            for (const Shape& s : c.shapes) applies |= layout_applies(l, s);
            if (!applies) continue;
            std::vector<Tensor> leaves;
            uint64_t seed = 11;
            for (const Shape& s : c.shapes)
                leaves.push_back(uniform(leaf_shape(l, s), c.lo, c.hi, DType::F64, seed++).requires_grad_());
            auto f = [&](const std::vector<Tensor>& xs) {
                std::vector<Tensor> views;
                for (size_t i = 0; i < xs.size(); ++i) views.push_back(layout_view(l, xs[i], c.shapes[i]));
                return c.fn(views);
            };
            GradcheckOptions opt;
            opt.atol = c.atol;
            opt.rtol = c.rtol;
            GradcheckResult r = gradcheck(f, leaves, opt);
            INFO(c.name, " [", std::string(layout_name(l)), "] max |error| ", r.max_abs_error);
            CHECK_MESSAGE(r.ok, c.name, " [", std::string(layout_name(l)), "]: ", r.message);
            ++checked;
        }
    }
    MESSAGE("gradchecked ", checked, " (op, layout) pairs from ", cases.size(), " op-table rows");
}
