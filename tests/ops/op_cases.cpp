// Op table rows for elementwise ops, reductions and views, and the table itself.
#include "tests/ops/op_cases.h"

namespace vg::test {

namespace {
using Ts = std::vector<Tensor>;
OpCase unary_case(std::string name, Tensor (*f)(const Tensor&), double lo = -2, double hi = 2) {
    return {name, {{3, 4}}, lo, hi, [f](const Ts& x) { return f(x[0]); }};
}
OpCase binary_case(std::string name, Tensor (*f)(const Tensor&, const Tensor&), double lo = -2,
                   double hi = 2) {
    // The second operand broadcasts along dim 0 inside the op as well.
    return {name, {{3, 4}, {1, 4}}, lo, hi, [f](const Ts& x) { return f(x[0], x[1]); }};
}
}  // namespace

std::vector<OpCase> elementwise_cases() {
    std::vector<OpCase> c{
        unary_case("neg", neg),
        unary_case("exp", exp),
        unary_case("log", log, 0.5, 3),
        unary_case("sqrt", sqrt, 0.5, 3),
        unary_case("rsqrt", rsqrt, 0.5, 3),
        unary_case("abs", abs, 0.1, 2),
        unary_case("tanh", tanh),
        unary_case("sigmoid", sigmoid),
        unary_case("relu", relu, 0.1, 2),
        unary_case("relu6", relu6, -1.5, 7.5),  // all three pieces; a draw within 1e-6 of a kink is
                                                // vanishingly rare
        unary_case("gelu", gelu, -4, 4),
        {"pow_scalar", {{3, 4}}, 0.5, 2, [](const Ts& x) { return pow(x[0], 2.5); }},
        {"clamp", {{3, 4}}, -2, 2, [](const Ts& x) { return clamp(x[0], -2.5, 2.5); }},
        {"add_scalar", {{3, 4}}, -2, 2, [](const Ts& x) { return add_scalar(x[0], 1.5); }},
        {"mul_scalar", {{3, 4}}, -2, 2, [](const Ts& x) { return mul_scalar(x[0], -0.7); }},
        binary_case("add", add),
        binary_case("sub", sub),
        binary_case("mul", mul),
        binary_case("div", div, 0.5, 2),
        binary_case("pow", pow, 0.5, 2),
        {"maximum", {{3, 4}, {3, 4}}, -2, 2, [](const Ts& x) { return maximum(x[0], x[1]); }},
        {"minimum", {{3, 4}, {3, 4}}, -2, 2, [](const Ts& x) { return minimum(x[0], x[1]); }},
        {"where",
         {{3, 4}, {3, 1}},
         -2,
         2,
         [](const Ts& x) {
             Tensor cond = Tensor::from_vector({1, 0, 1, 1}, {4}, x[0].dtype(), x[0].device());
             return where(cond, x[0], x[1]);
         }},
        {"comparison",
         {{3, 4}, {3, 4}},
         -2,
         2,
         [](const Ts& x) { return add(mul(lt(x[0], x[1]), x[0]), mul(ge(x[0], x[1]), x[1])); }},
    };
    return c;
}

std::vector<OpCase> reduce_cases() {
    return {
        {"sum_all", {{3, 4}}, -2, 2, [](const Ts& x) { return sum(x[0]); }},
        {"sum_dim1", {{3, 4, 2}}, -2, 2, [](const Ts& x) { return sum(x[0], {1}); }},
        {"sum_dims02_keepdim",
         {{3, 4, 2}},
         -2,
         2,
         [](const Ts& x) {
             return sum(x[0], {0, 2}, true);
         }},
        {"sum_dim0", {{3, 4}}, -2, 2, [](const Ts& x) { return sum(x[0], {0}); }},
        {"mean_last", {{3, 4}}, -2, 2, [](const Ts& x) { return mean(x[0], {-1}, true); }},
        {"var_unbiased", {{3, 5}}, -2, 2, [](const Ts& x) { return var(x[0], {1}); }},
        {"var_biased_all", {{3, 5}}, -2, 2, [](const Ts& x) { return var(x[0], {}, 0); }},
        {"max_dim",
         {{3, 5}},
         -2,
         2,
         [](const Ts& x) { return max(x[0], 1).values; },
         1e-5,
         1e-3,
         /*broadcast_ok=*/false},
        {"max_dim0_keepdim",
         {{4, 3}},
         -2,
         2,
         [](const Ts& x) { return max(x[0], 0, true).values; },
         1e-5,
         1e-3,
         false},
        {"logsumexp_all", {{3, 4}}, -3, 3, [](const Ts& x) { return logsumexp(x[0]); }},
        {"logsumexp_dim1", {{3, 4, 2}}, -3, 3, [](const Ts& x) { return logsumexp(x[0], {1}); }},
        {"logsumexp_dims02_keepdim",
         {{3, 4, 2}},
         -3,
         3,
         [](const Ts& x) {
             return logsumexp(x[0], {0, 2}, true);
         }},
        {"logsumexp_dim0", {{4, 3}}, -3, 3, [](const Ts& x) { return logsumexp(x[0], {0}); }},
    };
}

std::vector<OpCase> view_cases() {
    // The gradcheck weights every output element differently, so a view that misplaces an element
    // changes the result.
    return {
        {"reshape",
         {{3, 4}},
         -2,
         2,
         [](const Ts& x) {
             return x[0].reshape({2, 6});
         }},
        {"view_flatten", {{3, 4, 2}}, -2, 2, [](const Ts& x) { return x[0].flatten(1); }},
        {"permute",
         {{2, 3, 4}},
         -2,
         2,
         [](const Ts& x) {
             return x[0].permute({2, 0, 1}).contiguous();
         }},
        {"transpose", {{3, 4}}, -2, 2, [](const Ts& x) { return x[0].transpose(0, 1); }},
        {"narrow", {{3, 5}}, -2, 2, [](const Ts& x) { return x[0].narrow(1, 1, 3); }},
        {"select", {{3, 5}}, -2, 2, [](const Ts& x) { return x[0].select(0, 2); }},
        {"expand",
         {{3, 1}},
         -2,
         2,
         [](const Ts& x) {
             return x[0].expand({2, 3, 4});
         }},
        {"squeeze_unsqueeze",
         {{3, 4}},
         -2,
         2,
         [](const Ts& x) { return x[0].unsqueeze(1).unsqueeze(0).squeeze(2); }},
        {"clone", {{3, 4}}, -2, 2, [](const Ts& x) { return x[0].clone(); }},
    };
}

std::vector<OpCase> all_op_cases() {
    std::vector<OpCase> all;
    for (auto list :
         {elementwise_cases(), reduce_cases(), view_cases(), nn_op_cases(), shape_op_cases(),
          conv_op_cases(), batchnorm_op_cases(), groupnorm_op_cases()})
        for (auto& c : list) all.push_back(std::move(c));
    return all;
}

}  // namespace vg::test
