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
        for (Layout l :
             {Layout::Contiguous, Layout::Transposed, Layout::Offset, Layout::Broadcast}) {
            if (l == Layout::Broadcast && !c.broadcast_ok) continue;
            bool applies = false;
            for (const Shape& s : c.shapes) applies |= layout_applies(l, s);
            if (!applies) continue;
            std::vector<Tensor> leaves;
            uint64_t seed = 11;
            for (const Shape& s : c.shapes)
                leaves.push_back(
                    uniform(leaf_shape(l, s), c.lo, c.hi, DType::F64, seed++).requires_grad_());
            auto f = [&](const std::vector<Tensor>& xs) {
                std::vector<Tensor> views;
                for (size_t i = 0; i < xs.size(); ++i)
                    views.push_back(layout_view(l, xs[i], c.shapes[i]));
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

// A saved tensor that is also the op's output would tie the node and the output into a cycle that
// no refcount frees: a forward-only graph (inference with parameters, internals studies) would
// then leak all its activations. Dropping the output of every row must free every storage.
TEST_CASE("a forward-only graph of every op-table row frees all its storage when dropped") {
    for (const OpCase& c : all_op_cases()) {
        if (!c.differentiable) continue;
        std::vector<Tensor> leaves;
        uint64_t seed = 5;
        for (const Shape& s : c.shapes)
            leaves.push_back(uniform(s, c.lo, c.hi, DType::F64, seed++).requires_grad_());
        int64_t before = Storage::live_count();
        { Tensor y = c.fn(leaves); }
        CHECK_MESSAGE(Storage::live_count() == before, c.name, ": ", Storage::live_count() - before,
                      " storages still alive after the output was dropped");
    }
}
