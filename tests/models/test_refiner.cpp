// Refiner: parameter counts (the released 25,023,656 of Refiner-ViT-S, and every registered size
// against its built module), the released state-dict names, refined-map internals, BatchNorm
// buffers through train/eval, checkpoints and EMA, configuration errors, and float64 gradchecks of
// whole tiny models in both modes.
#include <cstdio>
#include <filesystem>

#include "models/deit.h"
#include "models/refiner.h"
#include "models/registry.h"
#include "tests/nn/nn_helpers.h"
#include "train/optim/ema.h"

using namespace vg;
using namespace vg::models;
using namespace vg::test;

namespace {

ModelConfig tiny_refiner(Arch arch) {
    ModelConfig c;
    c.name = "tiny_refiner";
    c.arch = arch;
    c.img_size = 8;
    c.patch_size = 4;  // 4 tokens (+ cls): 5 x 5 maps
    c.embed_dim = 4;
    c.num_heads = arch == Arch::ConViT ? 4 : 2;
    c.depth = arch == Arch::Refiner ? 4 : 2;  // released: computing, sharing, computing, sharing
    c.local_up_to_layer = 1;
    c.mlp_ratio = 2.0;
    c.num_classes = 3;
    c.qkv_bias = arch != Arch::ConViT;
    c.refiner_expand = 2;
    c.refiner_stem = {2, 2, 2};
    return c;
}

}  // namespace

TEST_CASE("registry: Refiner parameter counts (released S/M/L, refined DeiT and ConViT)") {
    // refined_transformer.py's Refiner_ViT_S/M/L with return_dense and mix_token off, as
    // scripts/refiner_s.yaml trains them (the README's 25M / 55M / 81M).
    CHECK(count_parameters(model_config("refiner_vit_s")) == 25023656);
    CHECK(count_parameters(model_config("refiner_vit_m")) == 55029932);
    CHECK(count_parameters(model_config("refiner_vit_l")) == 80637192);
    // Paper mode adds e H^2 + e H k^2 + e H^2 conv weights and BN affine terms per MHSA block:
    // 135 + 42 = 177 at H = 3 (DeiT-Ti), 260 at H = 4 (ConViT-Ti, whose 2 MHSA blocks refine).
    CHECK(count_parameters(model_config("deit_cifar_tiny_refiner")) == 5362762 + 12 * 177);
    CHECK(count_parameters(model_config("convit_cifar_tiny_refiner")) == 5355858 + 2 * 260);
    CHECK(nn::attention_refiner_parameters(3, 3, 3) == 177);
}

TEST_CASE("registry: built Refiner models have exactly the counted parameters") {
    manual_seed(0);
    for (const char* name : {"refiner_vit_s", "refiner_vit_cifar_tiny", "refiner_vit_cifar_micro",
                             "deit_cifar_tiny_refiner", "convit_cifar_tiny_refiner",
                             "deit_cifar_micro_refiner", "convit_cifar_micro_refiner"}) {
        auto m = create_model(name);
        CHECK_MESSAGE(m->num_parameters() == count_parameters(m->config()), name);
    }
    for (Arch arch : {Arch::DeiT, Arch::ConViT, Arch::Refiner}) {
        ModelConfig c = tiny_refiner(arch);
        CHECK(create_model(c)->num_parameters() == count_parameters(c));
        c.refiner_expand = 1;  // no expansion: conv_exp and bn1 are not built
        CHECK(create_model(c)->num_parameters() == count_parameters(c));
    }
    ModelConfig plain = tiny_refiner(Arch::Refiner);
    plain.refiner_stem.clear();  // a patch-embedding conv instead of the conv stem
    CHECK(create_model(plain)->num_parameters() == count_parameters(plain));
}

TEST_CASE("Refiner-ViT: the released parameter and buffer names") {
    manual_seed(1);
    auto m = create_model("refiner_vit_cifar_micro");
    auto sd = m->state_dict();
    for (const char* k : {"patch_embed.conv1.weight",
                          "patch_embed.bn1.running_var",
                          "patch_embed.bn3.num_batches_tracked",
                          "patch_embed.proj.bias",
                          "cls_token",
                          "pos_embed",
                          "blocks.0.attn.qkv.weight",
                          "blocks.0.attn.qkv.bias",
                          "blocks.0.mlp.scale_channel",
                          "blocks.1.attn.qkv.weight",
                          "blocks.1.attn.DLA.conv_exp.weight",
                          "blocks.1.attn.DLA.bn1.running_mean",
                          "blocks.1.attn.DLA.depth_sep_conv.weight",
                          "blocks.1.attn.DLA.bn2.weight",
                          "blocks.1.attn.DLA.conv_pro.weight",
                          "blocks.1.attn.DLA.bn3.bias",
                          "blocks.1.attn.adapt_bn.num_batches_tracked",
                          "blocks.3.norm2.weight",
                          "norm.bias",
                          "head.weight"})
        CHECK_MESSAGE(sd.count(k) == 1, k);
    const int64_t D = 96;
    CHECK(sd.at("blocks.0.attn.qkv.weight").shape() == Shape{3 * D, D});
    CHECK(sd.at("blocks.1.attn.qkv.weight").shape() == Shape{D, D});  // the values only
    CHECK(sd.at("blocks.1.attn.DLA.conv_exp.weight").shape() == Shape{12, 4, 1, 1});
    CHECK(sd.at("blocks.1.attn.DLA.depth_sep_conv.weight").shape() == Shape{12, 1, 3, 3});
    CHECK(sd.count("blocks.0.attn.DLA.conv_exp.weight") == 0);  // computing blocks do not refine
    CHECK(sd.at("patch_embed.bn1.num_batches_tracked").dtype() == DType::I64);
    for (double v : sd.at("blocks.2.mlp.scale_channel").to_vector())
        CHECK(v == doctest::Approx(1e-5));

    // Strict loading lists what is missing and what is unexpected.
    sd.erase("blocks.1.attn.adapt_bn.running_mean");
    sd["blocks.1.attn.aux_head.weight"] = Tensor::zeros({2});
    CHECK_THROWS_WITH_AS(m->load_state_dict(sd),
                         doctest::Contains("missing (1): blocks.1.attn.adapt_bn.running_mean"),
                         Error);
    CHECK_THROWS_WITH_AS(m->load_state_dict(sd),
                         doctest::Contains("unexpected (1): blocks.1.attn.aux_head.weight"), Error);
}

TEST_CASE("Refiner: refined maps are internals beside the raw maps") {
    manual_seed(2);
    Tensor x = uniform({2, 3, 32, 32}, -1, 1, DType::F32, 3);
    auto deit = create_model("deit_cifar_micro_refiner");
    deit->eval();
    ModelInternals in;
    CHECK(deit->forward(x, &in).shape() == Shape{2, 10});
    REQUIRE(in.blocks.size() == 4);
    for (const auto& b : in.blocks) {
        CHECK(b.attn.shape() == Shape{2, 4, 65, 65});
        CHECK(b.refined.shape() == Shape{2, 4, 65, 65});
        // The raw maps are softmax rows; the refined ones are not.
        for (double r : sum(b.attn, {-1}).to_vector()) CHECK(r == doctest::Approx(1).epsilon(1e-5));
    }
    auto convit = create_model("convit_cifar_micro_refiner");
    convit->forward(x, &in);
    CHECK_FALSE(in.blocks[0].refined.defined());  // GPSA blocks are not refined
    CHECK(in.blocks[3].refined.shape() == Shape{2, 4, 65, 65});

    auto rv = create_model("refiner_vit_cifar_micro");
    rv->eval();
    rv->forward(x, &in);
    REQUIRE(in.blocks.size() == 4);
    CHECK_FALSE(in.blocks[0].refined.defined());
    CHECK(in.blocks[1].refined.shape() == Shape{2, 4, 65, 65});
    // A sharing block refines the map the computing block before it made.
    CHECK(max(abs(in.blocks[1].attn - in.blocks[0].attn)).item() == 0.0);
}

TEST_CASE("Refiner: BatchNorm buffers follow train/eval, checkpoints and the EMA") {
    manual_seed(3);
    auto m = create_model("deit_cifar_micro_refiner");
    Tensor x = uniform({4, 3, 32, 32}, -1, 1, DType::F32, 4);
    const std::string rm = "blocks.0.attn.DLA.bn2.running_mean",
                      nb = "blocks.0.attn.DLA.bn2.num_batches_tracked";
    auto buffer = [&](const std::string& n) { return m->state_dict().at(n); };
    std::vector<double> before = buffer(rm).to_vector();
    m->eval();
    m->forward(x);
    CHECK(buffer(rm).to_vector() == before);
    CHECK(buffer(nb).item() == 0);
    m->train();
    m->forward(x);
    CHECK(buffer(rm).to_vector() != before);
    CHECK(buffer(nb).item() == 1);

    // to(float64) converts the running statistics and keeps the counter int64.
    m->to(DType::F64);
    CHECK(buffer(rm).dtype() == DType::F64);
    CHECK(buffer(nb).dtype() == DType::I64);
    m->to(DType::F32);

    // Checkpoints hold the buffers.
    std::string path = (std::filesystem::temp_directory_path() /
                        ("vg_refiner_" + std::to_string(::getpid()) + ".safetensors"))
                           .string();
    m->save(path);
    manual_seed(4);
    auto other = create_model("deit_cifar_micro_refiner");
    other->load(path);
    CHECK(other->state_dict().at(rm).to_vector() == buffer(rm).to_vector());
    CHECK(other->state_dict().at(nb).item() == 1);
    std::remove(path.c_str());

    // The EMA averages the running statistics and copies the counter.
    NamedTensors state;
    for (auto& [k, t] : m->state_dict()) state.emplace_back(k, t);
    Ema ema(state, 0.5);
    std::vector<double> old_rm = buffer(rm).to_vector();
    m->forward(x);
    ema.update(state);
    std::vector<double> new_rm = buffer(rm).to_vector();
    for (auto& [k, e] : ema.shadow()) {
        if (k == rm) {
            std::vector<double> ev = e.to_vector();
            for (size_t i = 0; i < ev.size(); ++i)
                CHECK(ev[i] == doctest::Approx(0.5 * old_rm[i] + 0.5 * new_rm[i]));
        }
        if (k == nb) CHECK(e.item() == 2);
    }
}

TEST_CASE("Refiner: configuration errors") {
    ModelConfig c = tiny_refiner(Arch::Refiner);
    c.refiner_expand = 0;
    CHECK_THROWS_WITH_AS(create_model(c), doctest::Contains("refiner_expand must be >= 1"), Error);
    c = tiny_refiner(Arch::Refiner);
    c.patch_size = 3;
    CHECK_THROWS_WITH_AS(create_model(c),
                         doctest::Contains("ConvStem: the patch size 3 must be even"), Error);
    c = tiny_refiner(Arch::DeiT);
    c.refiner_kernel = 2;
    CHECK_THROWS_WITH_AS(create_model(c), doctest::Contains("AttentionRefiner"), Error);
    RefinerAttention sharing(8, 2, /*sharing=*/true);
    CHECK_THROWS_WITH_AS(sharing.forward(Tensor::zeros({1, 5, 8})),
                         doctest::Contains("the first block must be a computing block"), Error);
    CHECK_THROWS_WITH_AS(sharing.forward(Tensor::zeros({1, 5, 8}), Tensor::zeros({1, 2, 4, 4})),
                         doctest::Contains("must be [1, 2, 5, 5]"), Error);
}

TEST_CASE("gradcheck: whole tiny Refiner models, train and eval (float64)") {
    for (Arch arch : {Arch::DeiT, Arch::ConViT, Arch::Refiner})
        for (bool train : {true, false}) {
            manual_seed(5);
            auto m = create_model(tiny_refiner(arch));
            m->to(DType::F64);
            m->train(train);
            perturb(*m, 0.3, 100);
            Tensor x = uniform({3, 3, 8, 8}, -1, 1, DType::F64, 6).requires_grad_();
            GradcheckResult r =
                gradcheck_module(*m, x, [&](const Tensor& in) { return m->forward(in); });
            std::string label = fmt::format("{} ({})",
                                            arch == Arch::DeiT     ? "DeiT"
                                            : arch == Arch::ConViT ? "ConViT"
                                                                   : "Refiner-ViT",
                                            train ? "train" : "eval");
            MESSAGE(label, ": ", m->num_parameters(), " parameters, max |analytic - numeric| ",
                    r.max_abs_error);
            CHECK_MESSAGE(r.ok, label, ": ", r.message);
        }
}
