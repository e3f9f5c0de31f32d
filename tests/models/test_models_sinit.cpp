// The model features structured attention initialisation trains with: a ViT without class token
// (mean pool + fc_norm), the fixed sin-cos position tables, PyTorch-default ("skip") init, the
// predecessor's SimpleViT, model kwargs, and their parameter counts (derived by hand below).
#include <cmath>

#include "models/deit.h"
#include "models/model_kwargs.h"
#include "models/registry.h"
#include "models/simplevit.h"
#include "nn/pos_embed.h"
#include "tests/nn/nn_helpers.h"

using namespace vg;
using namespace vg::models;
using namespace vg::test;

namespace {

// Population standard deviation of a tensor's values.
double stddev(const Tensor& t) {
    std::vector<double> v = t.detach().to_vector();
    double m = 0, s = 0;
    for (double x : v) m += x;
    m /= double(v.size());
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / double(v.size()));
}

double max_abs(const Tensor& t) { return max(abs(t.detach())).item(); }

}  // namespace

TEST_CASE("registry: structured-init models have the derived parameter counts") {
    // vit_tiny_patch2_32 (structured init v1's ViT-Ti/2): patch conv 192 * (3*2*2) + 192, 12
    // MHSA blocks with qkv bias of 444,864 each (the DeiT-Ti block), fc_norm 2 * 192, head
    // 192 * 10 + 10;
    // the sin-cos table is a buffer and there is no class token.
    CHECK(count_parameters(model_config("vit_tiny_patch2_32")) ==
          192 * 13 + 12 * 444864 + 2 * 192 + 1930);
    CHECK(count_parameters(model_config("vit_tiny_patch2_32")) == 5343178);
    // simplevit_cifar (the predecessor's SimpleViT): LN(12) 24 + Linear 12 * 512 + 512 + LN(512)
    // 1024; per layer attention LN 1024 + to_qk 512 * 1024 + to_v and to_out 512 * 512 each,
    // feed-forward LN 1024
    // + two 512 x 512 Linears with bias (525,312); final LN 1024; head 512 * 10 + 10.
    const int64_t layer = 1024 + 512 * 1024 + 2 * 512 * 512 + 1024 + 2 * (512 * 512 + 512);
    CHECK(count_parameters(model_config("simplevit_cifar")) ==
          24 + 12 * 512 + 512 + 1024 + 6 * layer + 1024 + 5130);
    CHECK(count_parameters(model_config("simplevit_cifar")) == 9469474);
    // The micro size: D = 96, H = 3, L = 6, patch 4.
    CHECK(count_parameters(model_config("vit_micro_patch4_32")) == 676906);

    manual_seed(0);
    for (const char* name : {"vit_micro_patch4_32", "vit_tiny_patch2_32", "simplevit_cifar"}) {
        auto m = create_model(name);
        CHECK_MESSAGE(m->num_parameters() == count_parameters(m->config()), name);
    }
    ModelConfig learned = model_config("vit_micro_patch4_32");
    learned.pos_embed = PosEmbed::Learned;
    learned.class_token = true;
    CHECK(create_model(learned)->num_parameters() == count_parameters(learned));
    CHECK(count_parameters(learned) == 676906 + 96 + 65 * 96);
    // FLOPs: 64 patch tokens (no class token) through 6 blocks, the patch GEMM and the head.
    const int64_t T = 64, D = 96, M = 384;
    CHECK(forward_flops(model_config("vit_micro_patch4_32")) ==
          2 * (6 * (T * D * 3 * D + 2 * T * T * D + T * D * D + 2 * T * D * M) + 64 * 48 * 96 +
               96 * 10));
}

TEST_CASE("ViT without class token: buffers, names, and the mean pool into fc_norm") {
    manual_seed(1);
    auto m = std::dynamic_pointer_cast<DeiT>(create_model("vit_micro_patch4_32"));
    REQUIRE(m);
    auto sd = m->state_dict();
    for (const char* k :
         {"pos_embed", "fc_norm.weight", "fc_norm.bias", "head.weight", "blocks.5.attn.qkv.bias"})
        CHECK_MESSAGE(sd.count(k) == 1, k);
    for (const char* k : {"cls_token", "norm.weight"}) CHECK_MESSAGE(sd.count(k) == 0, k);
    bool pe_is_param = false;
    for (auto& [n, p] : m->named_parameters()) pe_is_param |= n == "pos_embed";
    CHECK_FALSE(pe_is_param);
    CHECK(m->pos_embed.shape() == Shape{1, 64, 96});
    CHECK(m->pos_embed.to_vector() ==
          nn::sincos_pos_embed_2d(8, 96, nn::SinCosLayout::Timm).to_vector());

    m->eval();
    Tensor x = uniform({2, 3, 32, 32}, -1, 1, DType::F32, 2);
    ModelInternals in;
    Tensor y = m->forward(x, &in);
    CHECK(y.shape() == Shape{2, 10});
    CHECK(in.blocks[0].attn.shape() == Shape{2, 3, 64, 64});  // patches only
    Tensor pooled = m->head->forward(m->fc_norm->forward(mean(m->forward_features(x), {1})));
    CHECK(max(abs(pooled - y)).item() < 1e-6);

    // A class token with average pooling leaves it out of the mean (timm global_pool='avg').
    ModelConfig c = model_config("vit_micro_patch4_32");
    c.class_token = true;
    auto mc = std::dynamic_pointer_cast<DeiT>(create_model(c));
    mc->eval();
    Tensor t = mc->forward_features(x);
    CHECK(t.size(1) == 65);
    Tensor want = mc->head->forward(mc->fc_norm->forward(mean(t.narrow(1, 1, 64), {1})));
    CHECK(max(abs(mc->forward(x) - want)).item() < 1e-6);
}

TEST_CASE("sin-cos position tables equal their formulas") {
    // timm layout, S = 3, D = 8 (two frequencies 1 and 10000^-1/2): token 5 is row 1, column 2.
    Tensor t = nn::sincos_pos_embed_2d(3, 8, nn::SinCosLayout::Timm, DType::F64);
    CHECK(t.shape() == Shape{9, 8});
    const double w1 = 0.01;
    std::vector<double> want{std::sin(1.0), std::sin(w1), std::sin(2.0), std::sin(2 * w1),
                             std::cos(1.0), std::cos(w1), std::cos(2.0), std::cos(2 * w1)};
    check_close(t.select(0, 5).to_vector(), want, 1e-15);
    // SimpleViT layout: frequencies 10000^(-k / (D/4 - 1)) = 1, 1e-4; [sin x, cos x, sin y, cos y].
    Tensor s = nn::sincos_pos_embed_2d(3, 8, nn::SinCosLayout::SimpleViT, DType::F64);
    want = {std::sin(2.0), std::sin(2e-4), std::cos(2.0), std::cos(2e-4),
            std::sin(1.0), std::sin(1e-4), std::cos(1.0), std::cos(1e-4)};
    check_close(s.select(0, 5).to_vector(), want, 1e-15);
    CHECK_THROWS_WITH_AS(nn::sincos_pos_embed_2d(4, 10, nn::SinCosLayout::Timm),
                         doctest::Contains("positive multiple of 4"), Error);
    CHECK_THROWS_WITH_AS(nn::sincos_pos_embed_2d(4, 4, nn::SinCosLayout::SimpleViT),
                         doctest::Contains("dim >= 8"), Error);
}

TEST_CASE("weight_init: timm's trunc-normal 0.02 or PyTorch's defaults (skip)") {
    manual_seed(3);
    ModelConfig c = model_config("vit_micro_patch4_32");
    auto timm = std::dynamic_pointer_cast<DeiT>(create_model(c));
    c.weight_init = WeightInit::Torch;
    c.pos_embed = PosEmbed::Learned;
    auto skip = std::dynamic_pointer_cast<DeiT>(create_model(c));
    const nn::Linear& qt = *dynamic_cast<nn::Attention&>(*timm->blocks[0]->attn).qkv;
    const nn::Linear& qs = *dynamic_cast<nn::Attention&>(*skip->blocks[0]->attn).qkv;
    CHECK(stddev(qt.weight) == doctest::Approx(0.02).epsilon(0.02));
    CHECK(max_abs(qt.bias) == 0.0);
    // U(-1/sqrt(96), 1/sqrt(96)): std 1/sqrt(3 * 96) = 0.0589.
    const double bound = 1.0 / std::sqrt(96.0);
    CHECK(max_abs(qs.weight) <= bound);
    CHECK(stddev(qs.weight) == doctest::Approx(1.0 / std::sqrt(3 * 96.0)).epsilon(0.02));
    CHECK(max_abs(qs.bias) <= bound);
    CHECK(max_abs(qs.bias) > 0.5 * bound);
    const nn::Linear& fc2 = *skip->blocks[0]->mlp->fc2;  // fan_in 384
    CHECK(max_abs(fc2.weight) <= 1.0 / std::sqrt(384.0));
    CHECK(stddev(skip->pos_embed) == doctest::Approx(0.02).epsilon(0.05));  // randn * 0.02
    CHECK(skip->blocks[0]->norm1->weight.to_vector() == std::vector<double>(96, 1.0));
}

TEST_CASE("model_kwargs override registry fields and name bad keys and values") {
    ModelConfig c = model_config("deit_cifar_micro");
    apply_model_kwargs(c,
                       " class_token=false, pool=avg,pos_embed=sincos ,weight_init=skip,"
                       "qkv_bias=false,depth=2,mlp_ratio=2.5,spatial_alpha=0.25");
    CHECK_FALSE(c.class_token);
    CHECK(c.pool == Pool::Avg);
    CHECK(c.pos_embed == PosEmbed::SinCos2d);
    CHECK(c.weight_init == WeightInit::Torch);
    CHECK_FALSE(c.qkv_bias);
    CHECK(c.depth == 2);
    CHECK(c.mlp_ratio == 2.5);
    CHECK(c.spatial_alpha == 0.25);
    apply_model_kwargs(c, "");
    CHECK_THROWS_WITH_AS(apply_model_kwargs(c, "depht=3"), doctest::Contains("unknown key 'depht'"),
                         Error);
    CHECK_THROWS_WITH_AS(apply_model_kwargs(c, "depth=-1"),
                         doctest::Contains("'depth' needs a positive integer"), Error);
    CHECK_THROWS_WITH_AS(apply_model_kwargs(c, "pool=max"),
                         doctest::Contains("'pool' must be token or avg"), Error);
    CHECK_THROWS_WITH_AS(apply_model_kwargs(c, "qkv_bias"), doctest::Contains("key=value"), Error);
}

TEST_CASE("DeiT options that do not fit together are errors") {
    ModelConfig c = model_config("deit_cifar_micro");
    c.class_token = false;
    CHECK_THROWS_WITH_AS(create_model(c), doctest::Contains("needs class_token"), Error);
    c = model_config("deit_cifar_micro");
    c.distilled = true;
    c.pool = Pool::Avg;
    CHECK_THROWS_WITH_AS(create_model(c), doctest::Contains("distillation needs"), Error);
}

TEST_CASE("SimpleViT: module tree names, attention scale, forward and errors") {
    manual_seed(4);
    ModelConfig c = model_config("simplevit_cifar");
    c.embed_dim = 32;
    c.num_heads = 4;
    c.depth = 2;
    auto m = std::dynamic_pointer_cast<SimpleViT>(create_model(c));
    REQUIRE(m);
    auto sd = m->state_dict();
    for (const char* k :
         {"to_patch_embedding.1.weight", "to_patch_embedding.2.bias", "to_patch_embedding.3.weight",
          "pos_embedding", "transformer.layers.0.0.norm.weight",
          "transformer.layers.0.0.to_qk.weight", "transformer.layers.1.0.to_v.weight",
          "transformer.layers.1.0.to_out.weight", "transformer.layers.1.1.net.0.bias",
          "transformer.layers.1.1.net.3.weight", "transformer.norm.weight", "linear_head.bias"})
        CHECK_MESSAGE(sd.count(k) == 1, k);
    CHECK(sd.count("transformer.layers.0.0.to_qk.bias") == 0);
    CHECK(m->attn[0]->scale == doctest::Approx(1.0 / std::sqrt(8.0)));
    CHECK(sd.at("transformer.layers.0.1.net.1.weight").shape() == Shape{32, 32});  // MLP = D
    m->eval();
    Tensor x = uniform({2, 3, 32, 32}, -1, 1, DType::F32, 5);
    ModelInternals in;
    CHECK(m->forward(x, &in).shape() == Shape{2, 10});
    CHECK(in.blocks.size() == 2);
    CHECK(in.blocks[1].attn.shape() == Shape{2, 4, 256, 256});

    c.attn_scale = 0.1;
    CHECK(std::dynamic_pointer_cast<SimpleViT>(create_model(c))->attn[1]->scale == 0.1);
    c.spatial_alpha = 1.5;
    CHECK_THROWS_WITH_AS(create_model(c), doctest::Contains("spatial_alpha must lie in [0, 1]"),
                         Error);
    c.spatial_alpha = 0.5;
    c.attn_scale = -1;
    CHECK_THROWS_WITH_AS(create_model(c), doctest::Contains("attn_scale must be 0"), Error);
    CHECK_THROWS_WITH_AS(m->forward(Tensor::zeros({1, 3, 16, 16})),
                         doctest::Contains("expected input [B, 3, 32, 32]"), Error);
}
