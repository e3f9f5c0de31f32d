// The map providers of Refiner (the released Refiner-ViT and the paper's refiner inside DeiT) and
// SimpleViT on constructed maps: zeroed queries and keys make every softmax uniform, and a
// refiner whose last convolution is zero is the identity (its residual), so each layer's
// non-locality has a closed form. Also the |A|-weighted non-locality of refined maps.
#include <cmath>
#include <nlohmann/json.hpp>

#include "models/refiner.h"
#include "models/registry.h"
#include "tests/helpers.h"
#include "train/analyze/map_figure.h"
#include "train/probe/study.h"

using namespace vg;

namespace {

constexpr double kUniform8 = 4.1365;  // uniform map on the 8 x 8 grid (ConViT Eq. 8)

std::shared_ptr<models::VisionModel> fresh(const models::ModelConfig& cfg) {
    manual_seed(2);
    auto m = models::create_model(cfg);
    m->eval();
    return m;
}

Tensor images(int64_t b) { return test::uniform({b, 3, 32, 32}, -2, 2, DType::F32, 11); }

// Zeroes the q and k rows of every fused qkv projection (weights and biases), and the last
// convolution of every attention refiner: softmax maps become uniform and refiners the identity.
void uniform_maps_identity_refiners(models::VisionModel& m) {
    NoGradGuard ng;
    const int64_t D = m.config().embed_dim;
    for (auto& [name, p] : m.named_parameters()) {
        const bool qkv = name.find(".attn.qkv.") != std::string::npos && p.size(0) == 3 * D;
        if (qkv) p.detach().narrow(0, 0, 2 * D).zero_();
        if (name.find(".DLA.conv_pro.weight") != std::string::npos) p.detach().zero_();
    }
}

void check_all(const std::vector<double>& v, double expected, double eps = 1e-4) {
    REQUIRE_FALSE(v.empty());
    for (double d : v) CHECK(d == doctest::Approx(expected).epsilon(eps));
}

}  // namespace

TEST_CASE("weighted non-locality: |A|-weighted distance, Eq. 8 on distributions") {
    const int64_t N = 64;
    Tensor uniform = Tensor::full({1, 2, N, N}, 1.0 / double(N), DType::F64);
    check_all(nn::weighted_nonlocality(uniform), kUniform8);
    test::check_close(nn::weighted_nonlocality(uniform), nn::nonlocality(uniform), 1e-12);
    // Scale and sign do not matter: only where the magnitude lies.
    test::check_close(nn::weighted_nonlocality(uniform * -7.0), nn::nonlocality(uniform), 1e-12);
    // Query 0 of the 8 x 8 grid: +1 on its right neighbour (distance 1), -1 two rows down
    // (distance 2): (1 * 1 + 1 * 2) / 2.
    std::vector<double> v(size_t(N * N), 0.0);
    v[1] = 1.0;
    v[16] = -1.0;
    Tensor two = Tensor::from_vector(v, {1, N, N}, DType::F64);
    CHECK(nn::weighted_nonlocality(two)[0] == doctest::Approx(1.5));
    // An all-zero head gives 0; images are averaged: uniform (4.1365) and the identity (0).
    CHECK(nn::weighted_nonlocality(Tensor::zeros({1, 1, N, N}, DType::F64))[0] == 0.0);
    std::vector<double> eye(size_t(N * N), 0.0);
    for (int64_t i = 0; i < N; ++i) eye[size_t(i * N + i)] = 1.0;
    Tensor both = cat({Tensor::full({1, 1, N, N}, 0.5, DType::F64),
                       Tensor::from_vector(eye, {1, 1, N, N}, DType::F64)},
                      0);
    CHECK(nn::weighted_nonlocality(both)[0] == doctest::Approx(kUniform8 / 2).epsilon(1e-4));
    CHECK_THROWS_WITH_AS(nn::weighted_nonlocality(Tensor::zeros({2, 63, 63})),
                         doctest::Contains("weighted_nonlocality"), Error);
}

TEST_CASE("probe: Refiner-ViT's computing and sharing blocks and their refined maps") {
    auto m = fresh(models::model_config("refiner_vit_cifar_micro"));  // 8 x 8, H = 4, 4 blocks
    uniform_maps_identity_refiners(*m);
    const probe::MapProvider& p = probe::map_provider(*m);
    CHECK(std::string(p.name()) == "Refiner-ViT");
    auto maps = p.layer_maps(*m, images(2), probe::MapInput::Activations);
    REQUIRE(maps.size() == 4);
    const std::vector<std::string> kinds = {"MHSA", "shared", "MHSA", "shared"};
    // Only the first computing block's map is a softmax; the third adds the first's.
    const std::vector<bool> distributions = {true, true, false, false};
    for (size_t i = 0; i < 4; ++i) {
        CHECK(maps[i].kind == kinds[i]);
        CHECK(maps[i].distributions == distributions[i]);
        CHECK(maps[i].maps.shape() == Shape{2, 4, 64, 64});
        CHECK(maps[i].refined.defined() == (i % 2 == 1));
    }
    // The identity refiner: adapt_bn (running statistics 0 and 1) and the attention scale.
    const double scale = 1.0 / std::sqrt(24.0) / std::sqrt(1.0 + 1e-5);
    CHECK(max(abs(maps[1].refined - maps[1].maps * scale)).item() < 1e-6);

    probe::Study s = probe::study(*m, images(3));
    // Uniform over the class token and the 64 patches: the patch block holds 64/65 of the
    // uniform value; with the attention residual the patch block is still uniform, so the
    // |A|-weighted value is the uniform one; the refined maps are scaled copies.
    check_all(s.layers[0].nonlocality, kUniform8 * 64.0 / 65.0);
    check_all(s.layers[1].nonlocality, kUniform8 * 64.0 / 65.0);
    check_all(s.layers[2].nonlocality, kUniform8);
    check_all(s.layers[3].nonlocality, kUniform8);
    CHECK(s.layers[0].refined_nonlocality.empty());
    check_all(s.layers[1].refined_nonlocality, kUniform8);
    check_all(s.layers[3].refined_nonlocality, kUniform8);
    nlohmann::ordered_json j = probe::to_json(s);
    CHECK_FALSE(j["layers"][0].contains("refined_nonlocality"));
    probe::Study back = probe::study_from_json(nlohmann::ordered_json::parse(j.dump()));
    CHECK(back.layers[3].refined_nonlocality == s.layers[3].refined_nonlocality);

    // Figures draw a refined block twice: its incoming map, then its refinement.
    analyze::MapFigure fig = analyze::query_maps(*m, images(2), {1});
    REQUIRE(fig.layers.size() == 2);
    CHECK_FALSE(fig.layers[0].refined);
    CHECK(fig.layers[1].refined);
    CHECK(fig.layers[0].other_mass.size() == 4);
    CHECK(fig.layers[1].other_mass.empty());
    for (size_t h = 0; h < 4; ++h)
        for (size_t k = 0; k < 64; ++k)
            CHECK(fig.layers[1].maps[h][k] ==
                  doctest::Approx(fig.layers[0].maps[h][k] * scale).epsilon(1e-5));
    CHECK_THROWS_WITH_AS(analyze::query_maps(*m, images(1), {4}),
                         doctest::Contains("block 4 out of range [0, 4)"), Error);
    CHECK_THROWS_WITH_AS(probe::study(*m, images(1), probe::MapInput::PatchEmbed),
                         doctest::Contains("only the activations input applies to Refiner-ViT"),
                         Error);
}

TEST_CASE("probe: the paper's refiner in DeiT gives refined maps beside the softmax maps") {
    auto m = fresh(models::model_config("deit_cifar_micro_refiner"));
    uniform_maps_identity_refiners(*m);
    auto maps = probe::map_provider(*m).layer_maps(*m, images(2), probe::MapInput::Activations);
    for (const probe::LayerMaps& l : maps) {
        REQUIRE(l.refined.defined());
        CHECK(l.distributions);
        CHECK(max(abs(l.refined - l.maps)).item() == 0.0);  // the refiner is its residual
    }
    probe::Study s = probe::study(*m, images(2));
    for (const probe::LayerStudy& l : s.layers) {
        check_all(l.nonlocality, kUniform8 * 64.0 / 65.0);
        check_all(l.refined_nonlocality, kUniform8);
    }
    // Without a refiner there are no refined maps.
    auto plain = fresh(models::model_config("deit_micro"));
    probe::Study ps = probe::study(*plain, images(1));
    for (const probe::LayerStudy& l : ps.layers) CHECK(l.refined_nonlocality.empty());
}

TEST_CASE("probe: SimpleViT's maps are over the patches alone") {
    models::ModelConfig c = models::model_config("simplevit_cifar");
    c.patch_size = 4;  // 8 x 8 patches
    c.embed_dim = 64;
    c.num_heads = 4;
    c.depth = 2;
    auto m = fresh(c);
    {
        NoGradGuard ng;
        for (auto& [name, p] : m->named_parameters())
            if (name.find("to_qk") != std::string::npos) p.detach().zero_();
    }
    const probe::MapProvider& p = probe::map_provider(*m);
    CHECK(std::string(p.name()) == "SimpleViT");
    CHECK(p.figure_images(*m) == 100);
    auto maps = p.layer_maps(*m, images(2), probe::MapInput::Activations);
    REQUIRE(maps.size() == 2);
    CHECK_FALSE(maps[0].other_mass.defined());
    probe::Study s = probe::study(*m, images(2));
    for (const probe::LayerStudy& l : s.layers) {
        CHECK(l.kind == "MHSA");
        check_all(l.nonlocality, kUniform8);
    }
    CHECK_THROWS_WITH_AS(probe::study(*m, images(1), probe::MapInput::PatchEmbed),
                         doctest::Contains("only the activations input applies to SimpleViT"),
                         Error);
}
