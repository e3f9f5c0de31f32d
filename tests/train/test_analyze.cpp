// The analyze tools: PNG canvas and fonts, the colour scale, map figures on constructed maps, and
// the report over a training run.
#include <filesystem>
#include <fstream>

#include "core/safetensors.h"
#include "models/registry.h"
#include "tests/helpers.h"
#include "tests/train/train_fixtures.h"
#include "train/analyze/colormap.h"
#include "train/analyze/commands.h"
#include "train/analyze/map_figure.h"
#include "train/analyze/mask_table.h"
#include "train/probe/masking.h"

using namespace vg;
using namespace vg::analyze;
namespace fs = std::filesystem;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

// Pixels in [x, x + w) x [y, y + h) that differ from white.
int inked(const Canvas& c, int x, int y, int w, int h) {
    int n = 0;
    for (int yy = y; yy < y + h; ++yy)
        for (int xx = x; xx < x + w; ++xx) n += !(c.at(xx, yy) == Rgb{255, 255, 255});
    return n;
}

}  // namespace

TEST_CASE("canvas: rectangles and text survive a PNG round trip exactly") {
    test::TempDir dir("vg_canvas");
    Canvas c(120, 60);
    c.fill_rect(2, 3, 5, 4, {10, 200, 30});
    c.frame_rect(30, 5, 10, 10, {255, 0, 0});
    const int w = c.text(60, 40, "σ(λ) = 0.73", {0, 0, 0}, Font::Regular, Align::Centre);
    CHECK(w == 11 * 8);  // 11 code points, 8 px cells
    CHECK(Canvas::text_width("layer 1", Font::Bold) == 7 * 10);
    CHECK(c.at(4, 5) == Rgb{10, 200, 30});
    CHECK(c.at(30, 10) == Rgb{255, 0, 0});
    CHECK(c.at(35, 10) == Rgb{255, 255, 255});  // a frame, not a fill
    CHECK(inked(c, 16, 40, 88, Canvas::line_height()) > 40);
    CHECK(inked(c, 0, 20, 120, 20) == 0);
    save_png(c, dir.file("a.png"));
    Canvas back = load_png(dir.file("a.png"));
    CHECK(back.width() == 120);
    CHECK(back.height() == 60);
    CHECK(back.rgb() == c.rgb());
    // A character the fonts lack is drawn as '?', and malformed UTF-8 does not crash.
    Canvas q(20, 20), qq(20, 20), u(20, 20), bad(20, 20);
    q.text(0, 0, "?", {0, 0, 0});
    qq.text(0, 0, "??", {0, 0, 0});
    u.text(0, 0, "\xE2\x88\x9E", {0, 0, 0});  // U+221E, not in the fonts
    bad.text(0, 0, "\xE2\x88", {0, 0, 0});    // truncated: two bad bytes
    CHECK(u.rgb() == q.rgb());
    CHECK(bad.rgb() == qq.rgb());
    CHECK_THROWS_WITH_AS(save_png(c, dir.file("no/such/dir.png")), doctest::Contains("cannot open"),
                         Error);
    std::ofstream(dir.file("not.png")) << "text";
    CHECK_THROWS_WITH_AS(load_png(dir.file("not.png")), doctest::Contains("cannot read"), Error);
    CHECK_THROWS_WITH_AS(Canvas(0, 10), doctest::Contains("outside [1, 16384]"), Error);
}

TEST_CASE("colour scale: viridis ends and a log scale over whole decades") {
    CHECK(viridis(0) == Rgb{0x44, 0x01, 0x54});
    CHECK(viridis(1) == Rgb{0xFD, 0xE7, 0x25});
    CHECK(viridis(0.5) == Rgb{0x21, 0x90, 0x8C});
    CHECK(viridis(-3) == viridis(0));
    CHECK(viridis(std::nan("")) == viridis(0));
    // Fitted to the values: from the largest down to the smallest, at most `decades` decades.
    LogScale s = LogScale::fitted(1e-6, 0.2, 3);
    CHECK(s.hi == 0.2);
    CHECK(s.lo == doctest::Approx(2e-4));
    CHECK(s(0.2) == doctest::Approx(1.0));
    CHECK(s(0.002) == doctest::Approx(1.0 / 3.0));
    CHECK(s(1e-5) == 0.0);
    CHECK(s(0.0) == 0.0);
    CHECK(s(5.0) == 1.0);
    // A nearly uniform map keeps its contrast: its span is under a decade.
    LogScale u = LogScale::fitted(0.014, 0.017, 3);
    CHECK(u.lo == 0.014);
    CHECK(u(0.0155) == doctest::Approx(std::log10(0.0155 / 0.014) / std::log10(0.017 / 0.014)));
    CHECK(u.ticks() == std::vector<double>{0.014, 0.017});
    // Ticks: both ends and the 1-2-5 steps between them.
    const std::vector<double> t = LogScale::fitted(0.003, 0.25, 3).ticks();
    const std::vector<double> want = {0.003, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25};
    REQUIRE(t.size() == want.size());
    for (size_t i = 0; i < t.size(); ++i) CHECK(t[i] == doctest::Approx(want[i]));
    // A constant map still gets a span.
    CHECK(LogScale::fitted(0.5, 0.5, 2).lo < 0.5);
    CHECK_THROWS_WITH_AS(LogScale::fitted(0.0, 0.0, 3), doctest::Contains("positive"), Error);
}

TEST_CASE("map figure: positional-only GPSA heads show their 2 x 2 kernel tap at init") {
    manual_seed(4);
    auto m = models::create_model("convit_micro");
    probe::ScopedMask content_off(*m, {.gate = probe::GateMask::Content, .first_layers = 4});
    const Tensor x = test::uniform({2, 3, 32, 32}, -1, 1, DType::F32, 8);
    MapFigure fig = query_maps(*m, x, {0, 5});
    CHECK(fig.side == 8);
    CHECK(fig.query == 4 * 8 + 4);
    CHECK(fig.images == 2);
    REQUIRE(fig.layers.size() == 2);
    CHECK(fig.layers[0].block == 0);
    CHECK(fig.layers[1].kind == "MHSA");
    // Head h = h1 + 2 h2 centres on (dx, dy) = (h2 - 1/2, h1 - 1/2): its 2 x 2 block of 0.1931
    // spans rows 4 + {h1 - 1, h1}, columns 4 + {h2 - 1, h2}.
    for (int h1 = 0; h1 < 2; ++h1)
        for (int h2 = 0; h2 < 2; ++h2) {
            const std::vector<double>& row = fig.layers[0].maps[size_t(h1 + 2 * h2)];
            for (int r = 3 + h1; r <= 4 + h1; ++r)
                for (int c = 3 + h2; c <= 4 + h2; ++c)
                    CHECK(row[size_t(r * 8 + c)] == doctest::Approx(0.1931).epsilon(5e-4));
            // One patch beyond the block, below or above the query: |delta - centre|^2 = 2.5
            // against 0.5 inside the block, so e^-2 of the block's weight.
            CHECK(row[size_t((h1 == 0 ? 5 : 3) * 8 + 3 + h2)] ==
                  doctest::Approx(0.1931 * std::exp(-2.0)).epsilon(1e-3));
        }
    CHECK(fig.layers[0].gate == std::vector<double>(4, 1.0));
    CHECK(fig.layers[0].other_mass.empty());
    REQUIRE(fig.layers[1].other_mass.size() == 4);  // MHSA: the class token's share
    for (size_t h = 0; h < 4; ++h) {
        double total = fig.layers[1].other_mass[h];
        for (double v : fig.layers[1].maps[h]) total += v;
        CHECK(total == doctest::Approx(1.0).epsilon(1e-5));
    }

    fig.title = "title";
    fig.subtitle = "subtitle";
    Canvas c = render_map_figure(fig);
    // One scale for the whole figure, fitted to every drawn value: head 1 of layer 1 at the
    // query's upper-left neighbour (0.1931, the largest value) is drawn in the colour that
    // scale gives it, the top of the colour bar; the class token's uniform 1/65 lies below.
    double vmin = 1, vmax = 0;
    for (const FigureLayer& l : fig.layers)
        for (const auto& h : l.maps)
            for (double v : h) vmin = std::min(vmin, v), vmax = std::max(vmax, v);
    const LogScale scale = LogScale::fitted(vmin, vmax, 3);
    CHECK(scale.hi == doctest::Approx(0.1931).epsilon(5e-4));
    CHECK(scale.lo == doctest::Approx(scale.hi / 1000));  // the far corners are below e^-30
    const int ppx = 16, x0 = 16 + 96, y0 = 16 + 18 + 17 + 14 + 17;
    CHECK(c.at(x0 + 3 * ppx + 8, y0 + 3 * ppx + 8) ==
          viridis(scale(fig.layers[0].maps[0][3 * 8 + 3])));
    CHECK(viridis(scale(fig.layers[0].maps[0][3 * 8 + 3])) == viridis(1.0));
    CHECK(c.at(x0 + 4 * ppx, y0 + 4 * ppx + 8) == Rgb{255, 40, 40});  // the query's frame
    test::TempDir dir("vg_map_figure");
    save_map_tensors(fig, dir.file("maps.safetensors"));
    SafetensorsFile f = load_safetensors(dir.file("maps.safetensors"));
    CHECK(f.tensors.at("blocks.0.maps").shape() == Shape{4, 8, 8});
    CHECK(f.tensors.at("blocks.5.other_mass").shape() == Shape{4});
    CHECK(f.tensors.count("blocks.5.gate") == 0);
    CHECK(f.metadata.at("query_row") == "4");
    CHECK_THROWS_WITH_AS(query_maps(*m, x, {6}), doctest::Contains("block 6 out of range"), Error);
    CHECK_THROWS_WITH_AS(query_maps(*m, x, {}, 64), doctest::Contains("query token 64"), Error);
}

TEST_CASE("analyze RUN_DIR: non-locality, gate and centre plots, maps and a report") {
    test::TempDir dir("vg_analyze_run");
    TrainData data = test::synthetic_data();
    TrainConfig c = test::tiny_config(dir.file("run"));
    c.ema = false;
    c.track_internals = true;
    c.internals_images = 8;
    Trainer(c, data).run();
    save_safetensors(dir.file("images.safetensors"),
                     {{"images", test::uniform({3, 3, 8, 8}, -1, 1, DType::F32)}});

    AnalyzeOptions o;
    o.run_dir = dir.file("run");
    o.images.input = dir.file("images.safetensors");
    REQUIRE(run_report_command(o) == 0);
    for (const char* f : {"nonlocality.svg", "gates.svg", "centres.svg", "maps.png",
                          "maps.safetensors", "report.md"})
        CHECK_MESSAGE(fs::exists(dir.file(std::string("run/") + f)), f);
    const std::string svg = read_text(dir.file("run/nonlocality.svg"));
    CHECK(svg.find("layer 4 (MHSA): non-locality") != std::string::npos);
    CHECK(svg.find("uniform map") != std::string::npos);
    CHECK(svg.find("stroke='#000000'") != std::string::npos);  // the head mean
    const std::string md = read_text(dir.file("run/report.md"));
    CHECK(md.find("![non-locality](nonlocality.svg)") != std::string::npos);
    CHECK(md.find("![maps](maps.png)") != std::string::npos);
    CHECK(md.find("| 4 | MHSA |") != std::string::npos);
    // A ConViT figure averages one image by default.
    CHECK(load_safetensors(dir.file("run/maps.safetensors")).metadata.at("images") == "1");

    // Without images (the synthetic dataset is not on disk) the report says why there are no maps.
    o.images.input.clear();
    fs::remove(dir.file("run/maps.png"));
    REQUIRE(run_report_command(o) == 0);
    CHECK(read_text(dir.file("run/report.md")).find("Not drawn:") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.file("run/maps.png")));
    o.run_dir = dir.file("missing");
    CHECK_THROWS_WITH_AS(run_report_command(o), doctest::Contains("is not a run directory"), Error);
}

TEST_CASE("analyze RUN_DIR of a Refiner run: the refined maps' non-locality per epoch") {
    test::TempDir dir("vg_analyze_refiner_run");
    TrainData data = test::synthetic_data();
    TrainConfig c = test::tiny_config(dir.file("run"));
    c.model = "deit_cifar_micro_refiner";
    c.epochs = 1;
    c.ema = false;
    c.track_internals = true;
    c.internals_images = 4;
    Trainer(c, data).run();
    AnalyzeOptions o;
    o.run_dir = dir.file("run");
    REQUIRE(run_report_command(o) == 0);
    const std::string svg = read_text(dir.file("run/refined_nonlocality.svg"));
    CHECK(svg.find("layer 4 (MHSA): refined non-locality") != std::string::npos);
    const std::string md = read_text(dir.file("run/report.md"));
    CHECK(md.find("![refined non-locality](refined_nonlocality.svg)") != std::string::npos);
    CHECK(md.find("dataset = 'synthetic' is not known") != std::string::npos);  // listed, not fatal
    CHECK_FALSE(fs::exists(dir.file("run/centres.svg")));                       // no GPSA layer
}

TEST_CASE("mask table: each mask evaluated, the model unchanged afterwards") {
    test::TempDir dir("vg_mask_table");
    TrainData data = test::synthetic_data();
    TrainConfig c = test::tiny_config(dir.file("run"));
    c.ema = false;
    Trainer t(c, data);
    t.run();
    models::VisionModel& m = t.model();
    const nn::StateDict before = [&] {
        nn::StateDict s;
        for (auto& [k, v] : m.state_dict()) s[k] = v.clone();
        return s;
    }();
    MaskTable table = mask_table(m, data.test, c.augment.norm, 8);
    REQUIRE(table.rows.size() == 3);  // convit_cifar_micro: 3 GPSA layers
    CHECK(table.rows[2].k == 3);
    for (auto& [k, v] : m.state_dict()) CHECK_MESSAGE(max(abs(v - before.at(k))).item() == 0.0, k);
    CHECK(table.plain == evaluate(m, data.test, c.augment.norm, 8, Device::cpu()).top1);
    // Zeroing the position embedding through the mask equals loading a zeroed one.
    nn::StateDict zeroed = before;
    zeroed["pos_embed"] = Tensor::zeros(before.at("pos_embed").shape());
    m.load_state_dict(zeroed);
    CHECK(table.pos_embed_zeroed == evaluate(m, data.test, c.augment.norm, 8, Device::cpu()).top1);
    m.load_state_dict(before);
    // Content masked everywhere: lambda = +large in every gate, loaded directly.
    nn::StateDict positional = before;
    for (const char* g :
         {"blocks.0.attn.gating_param", "blocks.1.attn.gating_param", "blocks.2.attn.gating_param"})
        positional[g] = Tensor::full({4}, 50.0);
    m.load_state_dict(positional);
    CHECK(table.rows[2].content == evaluate(m, data.test, c.augment.norm, 8, Device::cpu()).top1);
    m.load_state_dict(before);

    CHECK(mask_table(m, data.test, c.augment.norm, 8, {2}).rows.size() == 1);
    CHECK_THROWS_WITH_AS(mask_table(m, data.test, c.augment.norm, 8, {4}),
                         doctest::Contains("k = 4: the model has 3 GPSA layers"), Error);
    // A model without GPSA layers has Table 5 only.
    models::ModelConfig dc = models::model_config("deit_cifar_micro");
    dc.img_size = 8;
    dc.num_classes = 4;
    manual_seed(0);
    auto deit = models::create_model(dc);
    MaskTable plain = mask_table(*deit, data.test, c.augment.norm, 8);
    CHECK(plain.rows.empty());
    CHECK(plain.plain == evaluate(*deit, data.test, c.augment.norm, 8, Device::cpu()).top1);
}
