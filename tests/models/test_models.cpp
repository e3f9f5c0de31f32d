// Model configurations and their exact parameter counts (ConViT and DeiT Table 1 sizes),
// construction of the small models, forward shapes, internals, the late class token, errors,
// checkpoints, and float64 gradchecks of whole tiny models.
#include <cstdio>
#include <filesystem>

#include "models/convit.h"
#include "models/deit.h"
#include "models/registry.h"
#include "tests/nn/nn_helpers.h"

using namespace vg;
using namespace vg::models;
using namespace vg::test;

namespace {

ModelConfig with_classes(const std::string& name, int64_t k) {
    ModelConfig c = model_config(name);
    c.num_classes = k;
    return c;
}

ModelConfig tiny(Arch arch, bool distilled = false) {
    ModelConfig c;
    c.name = "tiny";
    c.arch = arch;
    c.img_size = 4;
    c.patch_size = 2;
    c.embed_dim = 4;  // small enough to perturb every parameter of the whole model in a gradcheck
    c.mlp_ratio = 2.0;
    c.num_heads = arch == Arch::ConViT ? 4 : 2;
    c.depth = 2;
    c.local_up_to_layer = 1;
    c.num_classes = 3;
    c.qkv_bias = arch == Arch::DeiT;
    c.distilled = distilled;
    return c;
}

}  // namespace

TEST_CASE("registry: exact parameter counts of the named configurations (dry count)") {
    // ImageNet 224/16, K = 1000: the sums of the weight shapes, which round to the sizes of ConViT
    // Table 1, DeiT Table 1 and timm (docs/derivations/convit-init.md).
    std::vector<std::pair<std::string, int64_t>> imagenet{
        {"deit_tiny_patch16_224", 5717416},
        {"convit_tiny", 5710512},
        {"deit_tiny_plus_patch16_224", 9982184},
        {"convit_tiny_plus", 9972912},
        {"deit_small_patch16_224", 22050664},
        {"convit_small", 27777322},
        {"deit_small_plus_patch16_224", 49000744},
        {"convit_small_plus", 48979882},
        {"deit_base_patch16_224", 86567656},
        {"convit_base", 86540040},
        {"deit_base_plus_patch16_224", 153171944},
        {"convit_base_plus", 153134856},
        {"deit_tiny_distilled_patch16_224", 5910800},
        {"deit_small_distilled_patch16_224", 22436432},
        {"deit_base_distilled_patch16_224", 87338192},
    };
    for (auto& [name, want] : imagenet)
        CHECK_MESSAGE(count_parameters(model_config(name)) == want, name);
    // CIFAR 32x32 with K = 10 and K = 100, by the same formula.
    std::vector<std::tuple<std::string, int64_t, int64_t>> cifar{
        {"convit_cifar_tiny", 5355858, 5373228},    {"convit_cifar_tiny_p2", 5385810, 5403180},
        {"convit_cifar_small", 26980588, 27019558}, {"convit_cifar_small_p2", 27047980, 27086950},
        {"deit_cifar_tiny", 5362762, 5380132},      {"deit_cifar_tiny_p2", 5392714, 5410084},
        {"deit_cifar_small", 21342346, 21376996},   {"deit_cifar_small_p2", 21402250, 21436900},
    };
    for (auto& [name, k10, k100] : cifar) {
        CHECK_MESSAGE(count_parameters(model_config(name)) == k10, name);
        CHECK_MESSAGE(count_parameters(with_classes(name, 100)) == k100, name, " (K = 100)");
    }
    // The micro size of the benchmarks and the sample-efficiency study (shared/peers RESULTS.md:
    // D96, H4, L6, 4 GPSA layers): 681,498 and 683,242 parameters.
    CHECK(count_parameters(model_config("convit_micro")) == 681498);
    CHECK(count_parameters(model_config("deit_micro")) == 683242);
    CHECK(model_config("convit_micro").local_up_to_layer == 4);
}

TEST_CASE("registry: built models have exactly the counted parameters") {
    manual_seed(0);
    // Larger sizes differ from these only in numbers the formula already takes (N, K, D, H, L).
    for (const char* name :
         {"convit_cifar_micro", "deit_cifar_micro", "convit_micro", "deit_micro"}) {
        auto m = create_model(name);
        CHECK_MESSAGE(m->num_parameters() == count_parameters(m->config()), name);
    }
    for (bool distilled : {false, true}) {
        ModelConfig c = tiny(Arch::DeiT, distilled);
        CHECK(create_model(c)->num_parameters() == count_parameters(c));
    }
    ModelConfig qb = tiny(Arch::ConViT);
    qb.qkv_bias = true;
    CHECK(create_model(qb)->num_parameters() == count_parameters(qb));
    // Block counts at D = 192 (docs/derivations/convit-init.md): GPSA (H = 4), MHSA without and
    // with qkv bias.
    CHECK(
        nn::Block(nn::BlockConfig{.dim = 192, .num_heads = 4, .use_gpsa = true}).num_parameters() ==
        444308);
    CHECK(nn::Block(nn::BlockConfig{.dim = 192, .num_heads = 4}).num_parameters() == 444288);
    CHECK(
        nn::Block(nn::BlockConfig{.dim = 192, .num_heads = 3, .qkv_bias = true}).num_parameters() ==
        444864);
}

TEST_CASE("registry: unknown names list every known model") {
    try {
        model_config("convit_huge");
        FAIL("expected an error");
    } catch (const Error& e) {
        std::string msg = e.what();
        CHECK(msg.find("unknown model 'convit_huge'") != std::string::npos);
        for (const std::string& n : model_names())
            CHECK_MESSAGE(msg.find(n) != std::string::npos, n);
    }
    CHECK(model_names().size() >= 25);
}

TEST_CASE("ConViT: structure, late class token and configuration errors") {
    manual_seed(1);
    auto m = std::dynamic_pointer_cast<ConViT>(create_model("convit_cifar_micro"));
    REQUIRE(m);
    CHECK(m->pos_embed.shape() == Shape{1, 64, 96});  // patches only
    auto sd = m->state_dict();
    for (const char* k :
         {"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
          "blocks.0.attn.qk.weight", "blocks.2.attn.gating_param", "blocks.2.attn.pos_proj.bias",
          "blocks.3.attn.qkv.weight", "norm.weight", "head.bias"})
        CHECK_MESSAGE(sd.count(k) == 1, k);
    CHECK(sd.count("blocks.3.attn.qkv.bias") == 0);  // ConViT has no qkv bias
    CHECK(sd.count("blocks.0.attn.qk.bias") == 0);

    Tensor x = uniform({2, 3, 32, 32}, -1, 1, DType::F32, 2);
    ModelInternals in;
    Tensor y = m->forward(x, &in);
    CHECK(y.shape() == Shape{2, 10});
    REQUIRE(in.blocks.size() == 4);
    CHECK(in.blocks[2].attn.shape() == Shape{2, 4, 64, 64});  // GPSA sees the 64 patches
    CHECK(in.blocks[2].positional.shape() == Shape{1, 4, 64, 64});
    CHECK(in.blocks[3].attn.shape() == Shape{2, 4, 65, 65});  // the class token joined
    CHECK_FALSE(in.blocks[3].gate.defined());
    CHECK(m->forward(x).to_vector() == y.to_vector());

    ModelConfig bad = model_config("convit_cifar_micro");
    bad.local_up_to_layer = 4;
    CHECK_THROWS_WITH_AS(create_model(bad), doctest::Contains("local_up_to_layer 4"), Error);
    bad = model_config("convit_cifar_micro");
    bad.num_heads = 2;
    bad.embed_dim = 96;
    CHECK_THROWS_WITH_AS(create_model(bad), doctest::Contains("not a perfect square"), Error);
    CHECK_THROWS_WITH_AS(ConViT(model_config("deit_cifar_micro")),
                         doctest::Contains("not a ConViT"), Error);
}

TEST_CASE("DeiT: tokens, distillation heads and drop-path schedule") {
    manual_seed(2);
    ModelConfig c = model_config("deit_cifar_micro");
    c.drop_path_rate = 0.3;
    auto m = std::dynamic_pointer_cast<DeiT>(create_model(c));
    REQUIRE(m);
    CHECK(m->pos_embed.shape() == Shape{1, 65, 96});
    for (int64_t i = 0; i < 4; ++i)
        CHECK(m->blocks[size_t(i)]->drop_path->p == doctest::Approx(0.1 * double(i)));
    Tensor x = uniform({2, 3, 32, 32}, -1, 1, DType::F32, 3);
    ModelInternals in;
    m->eval();
    CHECK(m->forward(x, &in).shape() == Shape{2, 10});
    CHECK(in.blocks[0].attn.shape() == Shape{2, 4, 65, 65});
    CHECK_THROWS_WITH_AS(m->forward_heads(x), doctest::Contains("no distillation token"), Error);

    auto d = std::dynamic_pointer_cast<DeiT>(create_model(tiny(Arch::DeiT, true)));
    CHECK(d->pos_embed.shape() == Shape{1, 6, 4});
    Tensor xs = uniform({2, 3, 4, 4}, -1, 1, DType::F32, 4);
    auto [z, zd] = d->forward_heads(xs);
    Tensor avg = d->forward(xs);
    CHECK(max(abs(avg - (z + zd) * 0.5)).item() < 1e-6);
}

TEST_CASE("models: save/load round-trips exactly through safetensors") {
    manual_seed(3);
    std::string path = (std::filesystem::temp_directory_path() /
                        ("vg_model_" + std::to_string(::getpid()) + ".safetensors"))
                           .string();
    auto a = create_model("convit_cifar_micro");
    a->save(path);
    manual_seed(4);
    auto b = create_model("convit_cifar_micro");
    b->load(path);
    auto sa = a->state_dict(), sb = b->state_dict();
    REQUIRE(sa.size() == sb.size());
    for (auto& [n, t] : sa) CHECK_MESSAGE(t.to_vector() == sb.at(n).to_vector(), n);
    Tensor x = uniform({1, 3, 32, 32}, -1, 1, DType::F32, 5);
    CHECK(a->forward(x).to_vector() == b->forward(x).to_vector());
    auto other = create_model("deit_cifar_micro");
    CHECK_THROWS_WITH_AS(other->load(path), doctest::Contains("unexpected"), Error);
    std::remove(path.c_str());
}

TEST_CASE("gradcheck: whole tiny ConViT and DeiT (float64)") {
    for (auto [arch, distilled, label] :
         std::vector<std::tuple<Arch, bool, std::string>>{{Arch::ConViT, false, "ConViT"},
                                                          {Arch::DeiT, false, "DeiT"},
                                                          {Arch::DeiT, true, "DeiT distilled"}}) {
        manual_seed(5);
        auto m = create_model(tiny(arch, distilled));
        m->to(DType::F64);
        m->eval();
        perturb(*m, 0.3, 100);
        Tensor x = uniform({2, 3, 4, 4}, -1, 1, DType::F64, 6).requires_grad_();
        GradcheckResult r =
            gradcheck_module(*m, x, [&](const Tensor& in) { return m->forward(in); });
        MESSAGE(label, ": ", m->num_parameters(), " parameters, max |analytic - numeric| ",
                r.max_abs_error);
        CHECK_MESSAGE(r.ok, label, ": ", r.message);
    }
}

TEST_CASE("registry: forward FLOPs count 2 per multiply-add of every matmul") {
    // DeiT-Ti/16 at 224: T = 197 tokens, D = 192, M = 768, 12 blocks, patch GEMM 196 x 768 x 192.
    int64_t T = 197, D = 192, M = 768;
    int64_t block = T * D * 3 * D + 2 * T * T * D + T * D * D + 2 * T * D * M;
    CHECK(forward_flops(model_config("deit_tiny_patch16_224")) ==
          2 * (12 * block + 196 * 768 * 192 + 192 * 1000));
    // ConViT-Ti/4 on CIFAR: 10 GPSA blocks over 64 patches (+ pos_proj 64 x 64 x 3 x 4), 2 MHSA
    // over 65.
    auto blk = [&](int64_t t) { return t * D * 3 * D + 2 * t * t * D + t * D * D + 2 * t * D * M; };
    CHECK(forward_flops(model_config("convit_cifar_tiny")) ==
          2 * (10 * (blk(64) + 64 * 64 * 3 * 4) + 2 * blk(65) + 64 * 48 * 192 + 192 * 10));
}

TEST_CASE("models: a few SGD steps on one batch lower the loss") {
    for (Arch arch : {Arch::ConViT, Arch::DeiT}) {
        manual_seed(7);
        ModelConfig c = tiny(arch);
        c.img_size = 8;  // 16 patches
        c.embed_dim = 16;
        c.drop_path_rate = 0.1;  // exercised in train mode
        auto m = create_model(c);
        m->train();
        Tensor x = uniform({8, 3, 8, 8}, -1, 1, DType::F32, 8);
        Tensor y = Tensor::from_vector_i64({0, 1, 2, 0, 1, 2, 0, 1}, {8});
        double first = 0, last = 0;
        for (int step = 0; step < 15; ++step) {
            m->zero_grad();
            Tensor loss = cross_entropy(m->forward(x), y);
            loss.backward();
            if (step == 0) first = loss.item();
            last = loss.item();
            NoGradGuard ng;
            for (Tensor& p : m->parameters()) p.detach().add_(p.grad(), -0.1);
        }
        std::string label = arch == Arch::ConViT ? "ConViT" : "DeiT";
        MESSAGE(label, ": loss ", first, " -> ", last);
        CHECK(last < first - 0.01);
    }
}
