// The `vitgrad analyze` subcommands as a user runs them, on models whose numbers have closed
// forms: at init every GPSA gate is sigmoid(1) and every attention centre sqrt(0.5) away (H = 4,
// alpha = 1); with the content masked a GPSA layer's non-locality is Q_pos's, 0.9374 on 8 x 8, and
// zeroed queries and keys make an MHSA layer uniform over 65 tokens (4.1365 * 64 / 65).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "models/registry.h"
#include "tests/helpers.h"
#include "tests/train/cli_runner.h"
#include "tests/train/train_fixtures.h"
#include "train/analyze/canvas.h"
#include "train/probe/masking.h"

using namespace vg;
using Json = nlohmann::json;

namespace {

Json read_json(const std::string& path) {
    std::ifstream f(path);
    return Json::parse(f);
}

// convit_micro at init with every gate forced to 1 (content masked) and the MHSA layers' queries
// and keys zeroed, as a plain state dict; and 3 images.
void write_constructed(const test::TempDir& dir) {
    manual_seed(0);
    auto m = models::create_model("convit_micro");
    {
        NoGradGuard ng;
        for (auto& [name, p] : m->named_parameters()) {
            if (name.find("gating_param") != std::string::npos) p.detach().fill_(1e4);
            if (name.find(".attn.qkv.weight") != std::string::npos)
                p.detach().narrow(0, 0, 2 * 96).zero_();
        }
    }
    m->save(dir.file("w.safetensors"));
    save_safetensors(dir.file("x.safetensors"),
                     {{"images", test::uniform({3, 3, 32, 32}, -2, 2, DType::F32, 3)}});
}

}  // namespace

TEST_CASE("analyze gates and centres: sigmoid(1) and sqrt(0.5) at init, as tables and JSON") {
    test::TempDir dir("vg_analyze_gates");
    test::CliResult r =
        test::run_cli("analyze gates --model convit_micro --json '" + dir.file("g.json") + "'");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("    1  GPSA    0.731   0.731   0.731   0.731    0.731") != std::string::npos);
    Json g = read_json(dir.file("g.json"));
    REQUIRE(g["layers"].size() == 4);
    for (const Json& l : g["layers"])
        for (double v : l["gate"]) CHECK(v == doctest::Approx(0.7310586).epsilon(1e-6));
    CHECK(g["layers"][3]["block"] == 3);

    r = test::run_cli("analyze centres --model convit_micro --json '" + dir.file("c.json") + "'");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("    1     1   -0.500   -0.500     0.707     1.000") != std::string::npos);
    Json c = read_json(dir.file("c.json"));
    for (const Json& l : c["layers"])
        for (const Json& h : l["heads"]) {
            CHECK(h["distance"].get<double>() == doctest::Approx(std::sqrt(0.5)));
            CHECK(h["alpha"].get<double>() == doctest::Approx(1.0));
        }
    // DeiT has no gates: said, not an error.
    r = test::run_cli("analyze gates --model deit_micro");
    CHECK(r.code == 0);
    CHECK(r.out.find("has no gated (GPSA) layers") != std::string::npos);
}

TEST_CASE("analyze nonlocality: Q_pos's 0.9374 and uniform MHSA maps, on both inputs") {
    test::TempDir dir("vg_analyze_nonlocality");
    write_constructed(dir);
    for (const std::string input : {"activations", "patch_embed"}) {
        CAPTURE(input);
        test::CliResult r = test::run_cli(fmt::format(
            "analyze nonlocality --model convit_micro --weights '{}' --input '{}' "
            "--map-input {} --json '{}'",
            dir.file("w.safetensors"), dir.file("x.safetensors"), input, dir.file("n.json")));
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(r.out.find("a uniform map gives 4.1365 on this 8 x 8 grid") != std::string::npos);
        Json j = read_json(dir.file("n.json"));
        CHECK(j["images"] == 3);
        CHECK(j["input"] == input);
        REQUIRE(j["layers"].size() == 6);
        // In the reference code's mode no layer sees the class token: uniform over 64 patches.
        const double mhsa = input == "activations" ? 4.1365 * 64.0 / 65.0 : 4.1365;
        for (int l = 0; l < 6; ++l) {
            const double want = l < 4 ? 0.9374 : mhsa;
            for (double d : j["layers"][l]["nonlocality"])
                CHECK(d == doctest::Approx(want).epsilon(1e-4));
        }
        CHECK(j["uniform"].get<double>() == doctest::Approx(4.1365).epsilon(1e-4));
    }
}

TEST_CASE("analyze maps: a PNG and the drawn numbers for the chosen layers and query") {
    test::TempDir dir("vg_analyze_maps");
    write_constructed(dir);
    test::CliResult r = test::run_cli(
        fmt::format("analyze maps --model convit_micro --weights '{}' --input '{}' --layers 1,5 "
                    "--query 2,3 --output '{}' --save-maps '{}'",
                    dir.file("w.safetensors"), dir.file("x.safetensors"), dir.file("m.png"),
                    dir.file("m.safetensors")));
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("2 layers x 4 heads") != std::string::npos);
    analyze::Canvas png = analyze::load_png(dir.file("m.png"));
    CHECK(png.width() > 600);
    SafetensorsFile f = load_safetensors(dir.file("m.safetensors"));
    CHECK(f.metadata.at("query_row") == "2");
    CHECK(f.metadata.at("query_col") == "3");
    CHECK(f.metadata.at("images") == "1");  // a ConViT figure shows one image
    REQUIRE(f.tensors.count("blocks.0.maps") == 1);
    REQUIRE(f.tensors.count("blocks.4.maps") == 1);
    CHECK(f.tensors.count("blocks.1.maps") == 0);
    // Layer 5 (MHSA) is uniform over 65 tokens: 1/65 on every patch.
    for (double v : f.tensors.at("blocks.4.maps").to_vector())
        CHECK(v == doctest::Approx(1.0 / 65.0).epsilon(1e-5));
    // Layer 1, head 1 (centre offset (-1/2, -1/2)): its 2 x 2 block sits above and left of the
    // query (2, 3): rows 1-2, columns 2-3, 0.1931 each (interior query).
    const std::vector<double> m0 = f.tensors.at("blocks.0.maps").to_vector();
    for (int row = 1; row <= 2; ++row)
        for (int col = 2; col <= 3; ++col)
            CHECK(m0[size_t(row * 8 + col)] == doctest::Approx(0.1931).epsilon(5e-4));
}

TEST_CASE("analyze: a careless command line ends in one clear error") {
    test::TempDir dir("vg_analyze_errors");
    save_safetensors(dir.file("x.safetensors"),
                     {{"images", test::uniform({1, 3, 32, 32}, -2, 2, DType::F32, 3)}});
    const std::string x = " --input '" + dir.file("x.safetensors") + "'";
    struct Case {
        std::string args, says;
    };
    const std::vector<Case> cases = {
        {"analyze", "give a run directory or a subcommand"},
        {"analyze nonlocality", "give exactly one of RUN_DIR / --run, --checkpoint or --model"},
        {"analyze gates --weights w.safetensors", "--weights needs --model"},
        {"analyze maps --model convit_micro --query 8,0" + x,
         "--query 8,0 is outside the 8 x 8 patch grid"},
        {"analyze maps --model convit_micro --query 3" + x, "--query takes ROW,COL"},
        {"analyze nonlocality --model refiner_vit_cifar_micro --map-input patch_embed" + x,
         "only the activations input applies to Refiner-ViT"},
        {"analyze nonlocality --model convit_micro --input /nonexistent.safetensors",
         "/nonexistent.safetensors"},
        {"analyze maps --model convit_micro --decades 9", "--decades"},
        {"analyze /nonexistent-run", "is not a run directory"},
        {"analyze /nonexistent-run gates", "not both"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.args);
        test::CliResult r = test::run_cli(c.args);
        CHECK(r.one_error_line());
        CHECK_MESSAGE(r.err.find(c.says) != std::string::npos, r.err);
    }
}
