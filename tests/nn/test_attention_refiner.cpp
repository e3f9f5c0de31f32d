// The attention-map refiner (Refiner's DLA) and MHSA with one: the released names, the parameter
// count formula, the residual, and float64 gradchecks in training and eval mode.
#include "nn/attention.h"
#include "nn/attention_refiner.h"
#include "tests/nn/nn_helpers.h"

using namespace vg;
using namespace vg::nn;
using namespace vg::test;

TEST_CASE("AttentionRefiner: released names, residual shape and gradcheck in both modes") {
    manual_seed(6);
    AttentionRefiner r(2, 3, 3);
    auto sd = r.state_dict();
    for (const char* k : {"conv_exp.weight", "bn1.running_var", "depth_sep_conv.weight",
                          "bn2.num_batches_tracked", "conv_pro.weight", "bn3.bias"})
        CHECK_MESSAGE(sd.count(k) == 1, k);
    CHECK(r.num_parameters() == attention_refiner_parameters(2, 3, 3));
    r.to(DType::F64);
    perturb(r, 0.3, 7);
    for (bool train : {true, false}) {
        r.train(train);
        Tensor a = uniform({2, 2, 5, 5}, 0, 1, DType::F64, 8).requires_grad_();
        GradcheckResult g = gradcheck_module(r, a, [&](const Tensor& in) { return r.forward(in); });
        CHECK_MESSAGE(g.ok, (train ? "train: " : "eval: "), g.message);
    }
    // Zeroing the last BatchNorm's affine map leaves the residual: the refiner is the identity.
    {
        NoGradGuard ng;
        r.bn3->weight.detach().zero_();
        r.bn3->bias.detach().zero_();
    }
    Tensor a = uniform({1, 2, 5, 5}, 0, 1, DType::F64, 9);
    CHECK(max(abs(r.forward(a) - a)).item() == 0.0);

    // MHSA with a refiner registers it as `DLA` and refuses a second one.
    Attention mhsa(8, 2, true);
    mhsa.add_refiner(3, 3);
    CHECK(mhsa.state_dict().count("DLA.depth_sep_conv.weight") == 1);
    CHECK_THROWS_WITH_AS(mhsa.add_refiner(3, 3), doctest::Contains("already has a refiner"), Error);
}
