// `vitgrad inspect`: the output file holds logits and every block's internals, readable back.
#include <filesystem>

#include "core/safetensors.h"
#include "models/registry.h"
#include "tests/helpers.h"
#include "train/cli/inspect.h"

using namespace vg;

TEST_CASE("inspect writes logits, attention maps and GPSA gates of a batch") {
    auto dir = std::filesystem::temp_directory_path() / fmt::format("vg_inspect_{}", ::getpid());
    std::filesystem::create_directories(dir);
    std::string in = (dir / "batch.safetensors").string(), out = (dir / "out.safetensors").string();
    save_safetensors(in, {{"images", test::uniform({3, 3, 32, 32}, -1, 1, DType::F32)}});

    InspectOptions o;
    o.model = "convit_cifar_micro";
    o.input = in;
    o.output = out;
    REQUIRE(inspect_main(o) == 0);
    SafetensorsFile f = load_safetensors(out);
    models::ModelConfig mc = models::model_config("convit_cifar_micro");
    CHECK(f.tensors.at("logits").shape() == Shape{3, mc.num_classes});
    int64_t N = mc.num_patches(), H = mc.num_heads;
    for (int64_t i = 0; i < mc.depth; ++i) {
        std::string p = fmt::format("blocks.{}.", i);
        bool gpsa = i < mc.local_up_to_layer;
        int64_t T = gpsa ? N : N + 1;  // the class token joins after the GPSA blocks
        REQUIRE(f.tensors.count(p + "attn"));
        CHECK(f.tensors.at(p + "attn").shape() == Shape{3, H, T, T});
        CHECK(f.tensors.count(p + "gate") == size_t(gpsa));
        if (gpsa) {
            // Fresh local init: lambda = 1 in every head, so the gate is sigmoid(1).
            for (double g : f.tensors.at(p + "gate").to_vector())
                CHECK(g == doctest::Approx(0.7310586).epsilon(1e-6));
            CHECK(f.tensors.at(p + "positional").shape() == Shape{1, H, N, N});
            // Every attention row is a distribution.
            Tensor rows = sum(f.tensors.at(p + "attn"), {-1});
            for (double r : rows.to_vector()) CHECK(r == doctest::Approx(1.0).epsilon(1e-5));
        }
    }
    CHECK(f.metadata.at("model") == "convit_cifar_micro");

    save_safetensors(in, {{"pixels", Tensor::zeros({1, 3, 32, 32})}});
    CHECK_THROWS_WITH_AS(inspect_main(o), doctest::Contains("no tensor named \"images\""), Error);
    o.input.clear();
    o.model.clear();
    CHECK_THROWS_WITH_AS(inspect_main(o), doctest::Contains("--model is required"), Error);
    std::filesystem::remove_all(dir);
}
