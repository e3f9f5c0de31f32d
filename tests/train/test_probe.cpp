// The study measurements on constructed maps: layers whose attention is made exactly positional
// (Q_pos at init) or exactly uniform must give the closed-form values of ConViT's Eq. 8.
#include <nlohmann/json.hpp>

#include "models/deit.h"
#include "models/registry.h"
#include "nn/gpsa.h"
#include "tests/helpers.h"
#include "train/probe/masking.h"
#include "train/probe/study.h"

using namespace vg;

namespace {

std::shared_ptr<models::VisionModel> fresh(const std::string& name, uint64_t seed = 1) {
    manual_seed(seed);
    auto m = models::create_model(name);
    m->eval();
    return m;
}

Tensor images(int64_t b, uint64_t seed = 5) {
    return test::uniform({b, 3, 32, 32}, -2, 2, DType::F32, seed);
}

// Zeroes the query and key projections of every attention layer: the content softmax becomes
// uniform over the keys whatever the input.
void zero_query_key(models::VisionModel& m) {
    NoGradGuard ng;
    for (auto& [name, p] : m.named_parameters()) {
        const bool qk = name.find(".attn.qk.") != std::string::npos;
        const bool qkv = name.find(".attn.qkv.") != std::string::npos;
        if (qk) p.detach().zero_();
        if (qkv) p.detach().narrow(0, 0, 2 * m.config().embed_dim).zero_();  // q and k rows
    }
}

}  // namespace

TEST_CASE("probe: positional-only GPSA layers give Q_pos's non-locality at init (0.9374)") {
    auto m = fresh("convit_micro");  // 8 x 8 patches, H = 4, 4 GPSA layers
    const Tensor x = images(6);
    {
        probe::ScopedMask content_off(*m, {.gate = probe::GateMask::Content, .first_layers = 4});
        for (probe::MapInput in : {probe::MapInput::Activations, probe::MapInput::PatchEmbed}) {
            probe::Study s = probe::study(*m, x, in);
            REQUIRE(s.layers.size() == 6);
            CHECK(s.images == 6);
            CHECK(s.grid_side == 8);
            for (int l = 0; l < 4; ++l) {
                CHECK(s.layers[size_t(l)].kind == "GPSA");
                for (double g : s.layers[size_t(l)].gate) CHECK(g == 1.0);  // exactly
                for (double d : s.layers[size_t(l)].nonlocality)
                    CHECK(d == doctest::Approx(0.9374).epsilon(1e-4));
            }
            CHECK(s.layers[4].kind == "MHSA");
            CHECK(s.layers[4].gate.empty());
        }
    }
    // The mask is gone: lambda = 1 everywhere again.
    for (auto& [name, p] : probe::gating_params(*m))
        CHECK(p.to_vector() == std::vector<double>(4, 1.0));
}

TEST_CASE("probe: uniform content attention gives the uniform value (4.1365 on 8 x 8)") {
    auto m = fresh("convit_micro");
    zero_query_key(*m);
    probe::ScopedMask position_off(*m, {.gate = probe::GateMask::Position, .first_layers = 4});
    probe::Study s = probe::study(*m, images(3));
    for (int l = 0; l < 4; ++l) {
        for (double g : s.layers[size_t(l)].gate) CHECK(g == 0.0);  // exactly
        for (double d : s.layers[size_t(l)].nonlocality)
            CHECK(d == doctest::Approx(4.1365).epsilon(1e-4));
    }
    // MHSA layers see the class token too: a uniform row gives each of the 65 keys 1/65, so the
    // patch block carries 64/65 of the uniform value and the class token 1/65.
    for (int l = 4; l < 6; ++l)
        for (double d : s.layers[size_t(l)].nonlocality)
            CHECK(d == doctest::Approx(4.1365 * 64.0 / 65.0).epsilon(1e-4));
    const probe::MapProvider& p = probe::map_provider(*m);
    auto maps = p.layer_maps(*m, images(2), probe::MapInput::Activations);
    CHECK(maps[5].maps.shape() == Shape{2, 4, 64, 64});
    CHECK(max(abs(maps[5].other_mass - 1.0 / 65.0)).item() < 1e-6);
    CHECK_FALSE(maps[0].other_mass.defined());
    CHECK(nn::uniform_nonlocality(8) == doctest::Approx(4.1365).epsilon(1e-4));
    CHECK(nn::uniform_nonlocality(14) == doctest::Approx(7.2808).epsilon(1e-4));
    CHECK(nn::uniform_nonlocality(16) == doctest::Approx(8.3261).epsilon(1e-4));
}

TEST_CASE("probe: DeiT layers drop the class token - patch_embed input feeds every layer alike") {
    auto m = fresh("deit_micro");
    zero_query_key(*m);
    probe::Study s = probe::study(*m, images(2));
    for (const probe::LayerStudy& l : s.layers) {
        CHECK(l.kind == "MHSA");
        for (double d : l.nonlocality)
            CHECK(d == doctest::Approx(4.1365 * 64.0 / 65.0).epsilon(1e-4));
    }
    // The reference code's mode feeds the raw patch embeddings to every block: two blocks with
    // the same attention weights then give the same maps, unlike on real activations.
    auto d = fresh("deit_micro", 2);
    {
        NoGradGuard ng;
        auto& a0 = dynamic_cast<nn::Attention&>(*d->blocks[0]->attn);
        auto& a3 = dynamic_cast<nn::Attention&>(*d->blocks[3]->attn);
        a3.qkv->weight.detach().copy_(a0.qkv->weight);
        a3.qkv->bias.detach().copy_(a0.qkv->bias);
    }
    const probe::MapProvider& p = probe::map_provider(*d);
    auto ref = p.layer_maps(*d, images(2), probe::MapInput::PatchEmbed);
    CHECK(ref[0].maps.shape() == Shape{2, 4, 64, 64});  // patches only: no class token
    CHECK(max(abs(ref[0].maps - ref[3].maps)).item() == 0.0);
    CHECK(max(abs(sum(ref[0].maps, {-1}) - 1.0)).item() < 1e-5);
    auto act = p.layer_maps(*d, images(2), probe::MapInput::Activations);
    CHECK(max(abs(act[0].maps - act[3].maps)).item() > 1e-4);
}

TEST_CASE("probe: chunks, gated layers, attention centres and the JSON form") {
    auto m = fresh("convit_micro", 3);
    const Tensor x = images(7, 9);
    probe::Study whole = probe::study(*m, x, probe::MapInput::Activations, 128);
    probe::Study chunked = probe::study(*m, x, probe::MapInput::Activations, 3);
    for (size_t l = 0; l < whole.layers.size(); ++l)
        test::check_close(chunked.layers[l].nonlocality, whole.layers[l].nonlocality, 1e-9);
    CHECK(m->is_training() == false);

    auto gated = probe::gated_layers(*m);
    REQUIRE(gated.size() == 4);
    for (auto& [block, l] : gated) {
        CHECK(l.kind == "GPSA");
        for (double g : l.gate) CHECK(g == doctest::Approx(0.7310586).epsilon(1e-6));
        for (const nn::AttentionCentre& c : l.centres) {
            CHECK(c.defined);
            CHECK(std::abs(c.dx) == doctest::Approx(0.5));
            CHECK(std::abs(c.dy) == doctest::Approx(0.5));
            CHECK(c.distance == doctest::Approx(std::sqrt(0.5)));
            CHECK(c.alpha == doctest::Approx(1.0));
        }
    }
    // A head whose positional logit grows with distance has no centre.
    auto& g0 = dynamic_cast<nn::GPSA&>(*m->blocks[0]->attn);
    {
        NoGradGuard ng;
        g0.pos_proj->weight.detach().select(0, 2).copy_(
            Tensor::from_vector({0.4, -0.2, 0.3}, {3}, DType::F32));
    }
    probe::Study s = probe::study(*m, x);
    CHECK_FALSE(s.layers[0].centres[2].defined);
    nlohmann::ordered_json j = probe::to_json(s);
    CHECK(j["layers"][0]["centre_distance"][2].is_null());
    CHECK(j["layers"][0]["centre"][1].size() == 3);
    CHECK_FALSE(j["layers"][5].contains("gate"));
    probe::Study back = probe::study_from_json(nlohmann::ordered_json::parse(j.dump()));
    CHECK(back.images == 7);
    CHECK(back.grid_side == 8);
    REQUIRE(back.layers.size() == s.layers.size());
    for (size_t l = 0; l < s.layers.size(); ++l) {
        CHECK(back.layers[l].kind == s.layers[l].kind);
        CHECK(back.layers[l].nonlocality == s.layers[l].nonlocality);
        CHECK(back.layers[l].gate == s.layers[l].gate);
        REQUIRE(back.layers[l].centres.size() == s.layers[l].centres.size());
        for (size_t h = 0; h < s.layers[l].centres.size(); ++h) {
            CHECK(back.layers[l].centres[h].defined == s.layers[l].centres[h].defined);
            CHECK(back.layers[l].centres[h].alpha == s.layers[l].centres[h].alpha);
        }
    }
    CHECK_THROWS_WITH_AS(probe::study_from_json(nlohmann::ordered_json::parse("{\"input\": 1}")),
                         doctest::Contains("malformed internals record"), Error);
}

TEST_CASE("probe: masks change only what they name and refuse what a model lacks") {
    auto m = fresh("convit_micro");
    const Tensor x = images(2);
    NoGradGuard ng;
    const Tensor before = m->forward(x);
    const std::vector<double> pos = m->state_dict().at("pos_embed").to_vector();
    {
        probe::ScopedMask no_pos(*m, {.zero_pos_embed = true});
        CHECK(max(abs(m->state_dict().at("pos_embed"))).item() == 0.0);
        CHECK(max(abs(m->forward(x) - before)).item() > 1e-6);
    }
    CHECK(m->state_dict().at("pos_embed").to_vector() == pos);
    CHECK(max(abs(m->forward(x) - before)).item() == 0.0);
    {
        // Only the first 2 of 4 gated layers change.
        probe::ScopedMask two(*m, {.gate = probe::GateMask::Position, .first_layers = 2});
        auto g = probe::gating_params(*m);
        CHECK(g[1].second.to_vector() == std::vector<double>(4, -1e4));
        CHECK(g[2].second.to_vector() == std::vector<double>(4, 1.0));
    }
    CHECK(probe::MaskSpec{.gate = probe::GateMask::Content, .first_layers = 3}.describe() ==
          "content masked in the first 3 GPSA layers");
    CHECK_THROWS_WITH_AS(
        probe::ScopedMask(*m, {.gate = probe::GateMask::Content, .first_layers = 5}),
        doctest::Contains("has 4 gated (GPSA) layers, 5 asked"), Error);
    auto d = fresh("deit_micro");
    CHECK(probe::gating_params(*d).empty());
    CHECK_THROWS_WITH_AS(
        probe::ScopedMask(*d, {.gate = probe::GateMask::Position, .first_layers = 1}),
        doctest::Contains("has 0 gated"), Error);
    CHECK_THROWS_WITH_AS(probe::parse_map_input("attention"),
                         doctest::Contains("expected activations or patch_embed"), Error);
    CHECK_THROWS_WITH_AS(probe::study(*m, Tensor::zeros({3, 32, 32})),
                         doctest::Contains("expected images [B, C, H, W]"), Error);
}

TEST_CASE("probe: a model no provider handles is one clear error") {
    struct Plain : models::VisionModel {
        Plain()
            : VisionModel([] {
                  models::ModelConfig c;
                  c.name = "plain";
                  return c;
              }()) {}
        Tensor forward(const Tensor& x, models::ModelInternals*) const override { return x; }
    } plain;
    CHECK_THROWS_WITH_AS(probe::map_provider(plain),
                         doctest::Contains("no map provider handles model 'plain'"), Error);
}
