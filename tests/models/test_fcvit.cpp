// FCViT in the registry: the four released sizes have exactly the parameters the released code
// builds (4,784,752 / 14,701,832 / 26,960,232 / 51,477,032: the README's 4.6M / 14M / 25.7M /
// 49.1M in units of 2^20), built models match the formula, the CIFAR sizes run end to end with
// every global context's internals, the initialisation is the released one, and errors are clear.
#include <cmath>

#include "models/fcvit.h"
#include "models/model_kwargs.h"
#include "models/registry.h"
#include "tests/helpers.h"

using namespace vg;
using namespace vg::models;

TEST_CASE("registry: FCViT parameter counts are exactly the released models'") {
    CHECK(count_parameters(model_config("fcvit_tiny")) == 4784752);
    CHECK(count_parameters(model_config("fcvit_b12")) == 14701832);
    CHECK(count_parameters(model_config("fcvit_b24")) == 26960232);
    CHECK(count_parameters(model_config("fcvit_b48")) == 51477032);
    // The CIFAR stem changes only the stride: the tiny model with a 10-class head.
    CHECK(count_parameters(model_config("fcvit_cifar_tiny")) == 4784752 - 990 * 321);
    CHECK(count_parameters(model_config("fcvit_cifar_micro")) == 450802);  // the peer's count
}

TEST_CASE("registry: built FCViT models have exactly the counted parameters") {
    for (const char* name : {"fcvit_tiny", "fcvit_b12", "fcvit_cifar_tiny", "fcvit_cifar_micro"}) {
        INFO(name);
        manual_seed(0);
        auto m = create_model(name);
        CHECK(m->num_parameters() == count_parameters(m->config()));
        CHECK(m->blocks.empty());  // no transformer blocks
    }
}

TEST_CASE("FCViT: the released names, shapes and initialisation") {
    manual_seed(1);
    auto m = create_model("fcvit_cifar_micro");
    auto sd = m->state_dict();
    const std::pair<const char*, Shape> expected[] = {
        {"patch_embed.proj.weight", {16, 3, 7, 7}},
        {"patch_embed.norm.running_var", {16}},
        {"network.0.0.layer_scale_1", {16}},
        {"network.0.0.norm1.weight", {16}},
        {"network.0.0.token_mixer.gc1.fc1.weight", {4, 16}},
        {"network.0.0.token_mixer.gc1.rescale_weight", {8}},
        {"network.0.0.token_mixer.dw2.weight", {16, 1, 11, 11}},
        {"network.0.0.token_mixer.fc2.2.weight", {16, 16, 1, 1}},
        {"network.0.0.channel_mixer.fc1.weight", {128, 16, 1, 1}},
        {"network.0.0.channel_mixer.dwconv.weight", {128, 1, 3, 3}},
        {"network.1.proj.weight", {32, 16, 3, 3}},
        {"network.5.norm.num_batches_tracked", {}},
        {"network.6.0.channel_mixer.fc2.weight", {128, 512, 1, 1}},
        {"norm.weight", {128}},
        {"head.weight", {10, 128}},
    };
    for (const auto& [name, shape] : expected) {
        INFO(name);
        REQUIRE(sd.count(name) == 1);
        CHECK(sd.at(name).shape() == shape);
    }
    CHECK(sd.size() == m->named_parameters().size() + m->named_buffers().size());
    CHECK(sd.at("network.4.1.layer_scale_2").to_vector() == std::vector<double>(64, 1e-5f));
    CHECK(max(abs(sd.at("network.2.0.token_mixer.gc2.rescale_bias"))).item() == 0.0);
    CHECK(max(abs(sd.at("network.3.proj.bias"))).item() == 0.0);
    CHECK(max(abs(sd.at("head.bias"))).item() == 0.0);
}

TEST_CASE("FCViT: CIFAR forward, internals of every global context, backward") {
    manual_seed(2);
    auto m = create_model("fcvit_cifar_micro");  // stages at 16, 8, 4 and 2 positions a side
    Tensor x = test::uniform({2, 3, 32, 32}, -1, 1, DType::F32);
    ModelInternals in;
    Tensor logits = m->forward(x, &in);
    REQUIRE(logits.shape() == Shape{2, 10});
    const int64_t sides[] = {16, 8, 4, 4, 2}, widths[] = {16, 32, 64, 64, 128};
    REQUIRE(in.contexts.size() == 10);  // 5 blocks x (gc1, gc2)
    for (size_t i = 0; i < in.contexts.size(); ++i) {
        INFO("context ", i);
        const int64_t s = sides[i / 2];
        CHECK(in.contexts[i].similarity.shape() == Shape{2, 8, s, s});
        CHECK(in.contexts[i].context.shape() == Shape{2, widths[i / 2]});
        CHECK_FALSE(in.contexts[i].similarity.requires_grad());
    }
    // Internals change nothing; the loss reaches every parameter.
    CHECK(max(abs(m->forward(x) - logits)).item() == 0.0);
    cross_entropy(logits, Tensor::from_vector_i64({3, 7}, {2})).backward();
    for (auto& [name, p] : m->named_parameters()) {
        INFO(name);
        REQUIRE(p.grad().defined());
        CHECK(std::isfinite(sum(abs(p.grad())).item()));
    }
}

TEST_CASE("FCViT: FLOPs count every conv, the contexts and the head") {
    // One block per stage, widths 8, kernel 3, MLP ratio 1, a 4 x 4 input with stride-2 stem:
    // stages of 2 x 2, 1 x 1, 1 x 1, 1 x 1 positions, written out term by term.
    ModelConfig c = model_config("fcvit_cifar_micro");
    c.img_size = 4;
    c.fcvit_depths = {1, 1, 1, 1};
    c.fcvit_widths = {8, 8, 8, 8};
    c.fcvit_mlp_ratios = {1, 1, 1, 1};
    c.fcvit_kernel = 3;
    c.embed_dim = 8;
    c.depth = 4;
    auto block = [](int64_t N) {  // C = 8, h = 16, r = 1, context width 1
        const int64_t gc = 8 * N + 8 * 2 + 1 * 8;
        return 2 * (gc + 8 * 9 * N + 2 * 8 * 16 * N) + (2 * 8 * 8 * N + 8 * 9 * N);
    };
    const int64_t macs = 3 * 49 * 8 * 4 + block(4) + 3 * (8 * 8 * 9 * 1 + block(1)) + 8 * 10;
    CHECK(forward_flops(c) == 2 * macs);
}

TEST_CASE("FCViT: configuration errors") {
    ModelConfig c = model_config("fcvit_cifar_micro");
    c.fcvit_widths = {32, 64, 128};
    CHECK_THROWS_WITH_AS(create_model(c), doctest::Contains("needs 4 stage depths"), vg::Error);
    c = model_config("fcvit_cifar_micro");
    c.fcvit_widths = {16, 20, 64, 128};
    CHECK_THROWS_WITH_AS(count_parameters(c), doctest::Contains("stage 2"), vg::Error);
    c = model_config("fcvit_cifar_micro");
    apply_model_kwargs(c, "depth=12");
    CHECK_THROWS_WITH_AS(create_model(c), doctest::Contains("depth 12 must be"), vg::Error);
    auto m = create_model("fcvit_cifar_micro");
    CHECK_THROWS_WITH_AS(m->forward(Tensor::zeros({2, 1, 32, 32})),
                         doctest::Contains("FCViT: expected images [B, 3, H, W]"), vg::Error);
}
