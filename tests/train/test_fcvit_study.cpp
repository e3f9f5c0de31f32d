// FCViT in the study tools: the non-locality of query-independent maps on constructed maps (a
// corner position, flat maps, the repeated-row identity), the FCViT map provider and study on a
// model whose global contexts are set to a flat or a zero similarity (the uniform value of each
// stage's grid, and 0), the map figure's per-stage grids, and `vitgrad inspect`'s context tensors.
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "core/safetensors.h"
#include "models/fcvit.h"
#include "models/registry.h"
#include "tests/helpers.h"
#include "train/analyze/map_figure.h"
#include "train/cli/inspect.h"
#include "train/probe/study.h"

using namespace vg;

namespace {

std::shared_ptr<models::FCViT> micro() {
    manual_seed(3);
    auto m = std::dynamic_pointer_cast<models::FCViT>(models::create_model("fcvit_cifar_micro"));
    REQUIRE(m);
    m->eval();
    return m;
}

// Every global context's s-hat becomes rescale_weight * standardised + rescale_bias = `bias`.
void flat_similarity(models::FCViT& m, double bias) {
    NoGradGuard ng;
    for (auto& [name, p] : m.named_parameters()) {
        if (name.find(".rescale_weight") != std::string::npos) p.detach().zero_();
        if (name.find(".rescale_bias") != std::string::npos) p.detach().fill_(bias);
    }
}

}  // namespace

TEST_CASE("context non-locality: |a|-weighted mean distance of a map shared by every query") {
    // 2 x 2 grid: position 0's mean distance to the four positions is (0 + 1 + 1 + sqrt 2) / 4.
    const double corner = (2.0 + std::sqrt(2.0)) / 4.0;
    Tensor one = Tensor::from_vector({-3, 0, 0, 0}, {1, 1, 4}, DType::F64);
    CHECK(nn::context_nonlocality(one)[0] == doctest::Approx(corner).epsilon(1e-12));
    // A flat map gives the uniform value of the grid; an all-zero group 0.
    CHECK(nn::context_nonlocality(Tensor::full({2, 64}, 0.3, DType::F64))[1] ==
          doctest::Approx(nn::uniform_nonlocality(8)).epsilon(1e-12));
    CHECK(nn::context_nonlocality(Tensor::zeros({1, 2, 16}, DType::F64))[0] == 0.0);
    // It is weighted_nonlocality of the map repeated for every query.
    Tensor a = test::uniform({2, 3, 16}, -1, 1, DType::F64, 4);
    test::check_close(nn::context_nonlocality(a),
                      nn::weighted_nonlocality(a.reshape({2, 3, 1, 16}).expand({2, 3, 16, 16})),
                      1e-12);
    CHECK_THROWS_WITH_AS(nn::context_nonlocality(Tensor::zeros({1, 2, 15})),
                         doctest::Contains("context_nonlocality"), Error);
}

TEST_CASE("probe: FCViT's global contexts are query-independent layers on their stage's grid") {
    auto m = micro();
    flat_similarity(*m, 0.7);
    const probe::MapProvider& p = probe::map_provider(*m);
    CHECK(std::string(p.name()) == "FCViT");
    Tensor x = test::uniform({3, 3, 32, 32}, -2, 2, DType::F32, 5);
    auto layers = p.layer_maps(*m, x, probe::MapInput::Activations);
    REQUIRE(layers.size() == 10);
    const int64_t sides[] = {16, 8, 4, 4, 2};
    for (size_t i = 0; i < layers.size(); ++i) {
        INFO("layer ", i);
        const int64_t N = sides[i / 2] * sides[i / 2];
        CHECK(layers[i].kind == "GC");
        CHECK(layers[i].query_independent);
        CHECK_FALSE(layers[i].distributions);
        REQUIRE(layers[i].maps.shape() == Shape{3, 8, N, N});
        CHECK(max(abs(layers[i].maps - 0.7)).item() < 1e-6);
    }
    CHECK_THROWS_WITH_AS(p.layer_maps(*m, x, probe::MapInput::PatchEmbed),
                         doctest::Contains("only the activations input applies to FCViT"), Error);

    // The study: a flat similarity is uniform on every stage's grid.
    probe::Study s = probe::study(*m, x);
    CHECK(s.grid_side == 16);
    REQUIRE(s.layers.size() == 10);
    for (size_t i = 0; i < s.layers.size(); ++i) {
        INFO("layer ", i);
        const int64_t side = sides[i / 2];
        CHECK(s.layers[i].grid_side == (side == 16 ? 0 : side));
        for (double d : s.layers[i].nonlocality)
            CHECK(d == doctest::Approx(nn::uniform_nonlocality(side)).epsilon(1e-5));
    }
    probe::Study back = probe::study_from_json(probe::to_json(s));
    CHECK(back.layers[9].grid_side == 2);
}

TEST_CASE("probe: an FCViT model whose contexts take nothing measures 0 everywhere") {
    // rescale_weight = rescale_bias = 0: every s-hat is 0, no position takes any context.
    auto m = micro();
    flat_similarity(*m, 0.0);
    probe::Study s = probe::study(*m, test::uniform({2, 3, 32, 32}, -2, 2, DType::F32, 6));
    REQUIRE(s.layers.size() == 10);
    for (const auto& l : s.layers)
        for (double d : l.nonlocality) CHECK(d == 0.0);
}

TEST_CASE("map figure: FCViT layers on their own grids, no query frame") {
    auto m = micro();
    flat_similarity(*m, 2.0);
    analyze::MapFigure fig =
        analyze::query_maps(*m, test::uniform({2, 3, 32, 32}, -2, 2, DType::F32, 7), {0, 9});
    REQUIRE(fig.layers.size() == 2);
    CHECK(fig.side == 16);
    CHECK(fig.layers[0].side == 0);  // the figure's 16 x 16 grid
    CHECK(fig.layers[1].side == 2);  // stage 4
    CHECK(fig.layers[1].query_independent);
    REQUIRE(fig.layers[1].maps.size() == 8);
    REQUIRE(fig.layers[1].maps[0].size() == 4);
    for (double v : fig.layers[1].maps[3]) CHECK(v == doctest::Approx(2.0).epsilon(1e-6));
    analyze::Canvas c = analyze::render_map_figure(fig);
    CHECK(c.width() > 0);
    auto path =
        std::filesystem::temp_directory_path() / fmt::format("vg_fcvit_maps_{}", ::getpid());
    analyze::save_map_tensors(fig, path.string());
    SafetensorsFile f = load_safetensors(path.string());
    CHECK(f.tensors.at("blocks.9.maps").shape() == Shape{8, 2, 2});
    CHECK(f.tensors.at("blocks.0.maps").shape() == Shape{8, 16, 16});
    std::filesystem::remove(path);
}

TEST_CASE("inspect writes every FCViT global context's similarity and context") {
    auto dir =
        std::filesystem::temp_directory_path() / fmt::format("vg_fcvit_inspect_{}", ::getpid());
    std::filesystem::create_directories(dir);
    const std::string in = (dir / "batch.safetensors").string(),
                      out = (dir / "out.safetensors").string();
    save_safetensors(in, {{"images", test::uniform({2, 3, 32, 32}, -1, 1, DType::F32)}});
    InspectOptions o;
    o.model = "fcvit_cifar_micro";
    o.input = in;
    o.output = out;
    REQUIRE(inspect_main(o) == 0);
    SafetensorsFile f = load_safetensors(out);
    CHECK(f.tensors.at("logits").shape() == Shape{2, 10});
    CHECK(f.tensors.at("contexts.0.similarity").shape() == Shape{2, 8, 16, 16});
    CHECK(f.tensors.at("contexts.9.similarity").shape() == Shape{2, 8, 2, 2});
    CHECK(f.tensors.at("contexts.9.context").shape() == Shape{2, 128});
    CHECK(f.tensors.count("contexts.10.similarity") == 0);
    // A fresh model's s-hat (rescale 1, 0) has mean 0 and unbiased std 1 per image.
    Tensor s = f.tensors.at("contexts.4.similarity").to(DType::F64).reshape({2, 128});
    for (int64_t b = 0; b < 2; ++b) {
        CHECK(std::abs(mean(s.select(0, b)).item()) < 1e-5);
        CHECK(std::sqrt(var(s.select(0, b)).item()) == doctest::Approx(1.0).epsilon(1e-4));
    }
    std::filesystem::remove_all(dir);
}
