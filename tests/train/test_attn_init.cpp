// Structured attention initialisation applied to models: option parsing, what each method writes
// where, the fit of the resulting maps to their target taps, determinism, the solve cache (hits,
// corrupt files) and the errors for models and options that do not fit.
#include <filesystem>
#include <fstream>

#include "core/safetensors.h"
#include "models/deit.h"
#include "models/registry.h"
#include "models/simplevit.h"
#include "tests/helpers.h"
#include "train/init/attn_init.h"

using namespace vg;
using namespace vg::models;
using namespace vg::test;
namespace fs = std::filesystem;

namespace {

// vit_micro_patch4_32 cut to two blocks: an 8x8 grid, D = 96, H = 3, head_dim 32.
ModelConfig small_vit() {
    ModelConfig c = model_config("vit_micro_patch4_32");
    c.depth = 2;
    c.weight_init = WeightInit::Torch;
    return c;
}

nn::Attention& mhsa(VisionModel& m, size_t i) {
    return dynamic_cast<nn::Attention&>(*dynamic_cast<DeiT&>(m).blocks[i]->attn);
}

struct TempDir {
    fs::path path = fs::temp_directory_path() / fmt::format("vg_attn_init_{}", ::getpid());
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

std::vector<double> values(const Tensor& t) { return t.detach().contiguous().to_vector(); }

Tensor eye(int64_t n) {
    std::vector<double> v(size_t(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i) v[size_t(i * n + i)] = 1.0;
    return Tensor::from_vector(v, {n, n}, DType::F64);
}

// ||a - b||_F / ||b||_F in float64.
double rel_error(const Tensor& a, const Tensor& b) {
    Tensor d = a.to(DType::F64) - b.to(DType::F64);
    return std::sqrt(sum(d * d).item() / sum(b.to(DType::F64) * b.to(DType::F64)).item());
}

// Every head of `maps` [H, N, N] has more than `min_mass` of its rows' mass on its tap and its
// attention centres closer than `max_distance` patches to it (measured values are printed).
void check_fit(const Tensor& maps, const std::vector<nn::sinit::Offset>& taps, double min_mass,
               double max_distance, const char* what) {
    nn::sinit::TargetFit fit = nn::sinit::target_fit(maps, taps);
    for (size_t h = 0; h < taps.size(); ++h) {
        MESSAGE(what, " head ", h, ": mass ", fit.mass[h], ", distance ", fit.distance[h]);
        CHECK(fit.mass[h] > min_mass);
        CHECK(fit.distance[h] < max_distance);
    }
}

// The composed value map of a layer, W_v^T W_proj^T [D, D] (x -> x W_v^T W_proj^T).
Tensor value_map(const Tensor& w_v, const Tensor& w_proj) {
    return matmul(w_v.detach().to(DType::F64).transpose(0, 1),
                  w_proj.detach().to(DType::F64).transpose(0, 1));
}

}  // namespace

TEST_CASE("attn-init: option text") {
    CHECK(parse_attn_init("").kind == AttnInitKind::None);
    CHECK(parse_attn_init(" none ").kind == AttnInitKind::None);
    AttnInitSpec v1 = parse_attn_init("impulse5");
    CHECK(v1.kind == AttnInitKind::ImpulseV1);
    CHECK(v1.kernel == 5);
    CHECK(v1.solve.iterations == 10000);
    CHECK(v1.solve.lr == 1e-4);
    CHECK(v1.solve.renorm_every == 100);
    CHECK(v1.init_once);
    v1 = parse_attn_init("impulse3:pseudo=B,init_once=false,iters=20,lr=0.01,renorm=5");
    CHECK(v1.pseudo == 'B');
    CHECK_FALSE(v1.init_once);
    CHECK(v1.solve.iterations == 20);
    CHECK(v1.solve.lr == 0.01);
    CHECK(v1.solve.renorm_every == 5);
    AttnInitSpec v2 = parse_attn_init("impulse_v2:norm_q=5");
    CHECK(v2.kind == AttnInitKind::ImpulseV2);
    CHECK(v2.norm_p == 18);
    CHECK(v2.norm_q == 5);
    CHECK(v2.norm_v == 1);
    AttnInitSpec ci = parse_attn_init("impulse16_64_5_0.1_100");
    CHECK(ci.kind == AttnInitKind::ImpulseCI);
    CHECK(ci.ci_grid == 16);
    CHECK(ci.ci_rank == 64);
    CHECK(ci.kernel == 5);
    CHECK(ci.solve.scale == 0.1);
    CHECK(ci.solve.renorm_every == 100);
    CHECK(attn_init_model_scale(ci) == 0.1);
    CHECK(attn_init_model_scale(v1) == 0.0);
    ci = parse_attn_init("impulse_ci");
    CHECK(ci.kind == AttnInitKind::ImpulseCI);
    CHECK(ci.kernel == 5);
    CHECK(ci.solve.scale == 0.1);
    AttnInitSpec mi = parse_attn_init("mimetic0.5_0.9");
    CHECK(mi.kind == AttnInitKind::Mimetic);
    CHECK(mi.qk_alpha == 0.5);
    CHECK(mi.qk_beta == 0.9);
    CHECK(parse_attn_init("mimetic").qk_alpha == 0.7);

    CHECK_THROWS_WITH_AS(parse_attn_init("impulse"), doctest::Contains("unknown option"), Error);
    CHECK_THROWS_WITH_AS(parse_attn_init("xavier"), doctest::Contains("unknown option 'xavier'"),
                         Error);
    CHECK_THROWS_WITH_AS(parse_attn_init("impulse16_64_5_0.1"),
                         doctest::Contains("impulse{S}_{r}_{f}_{scale}_{renorm}"), Error);
    CHECK_THROWS_WITH_AS(parse_attn_init("impulse16_64_5_-1_100"),
                         doctest::Contains("logit scale must be positive"), Error);
    CHECK_THROWS_WITH_AS(parse_attn_init("impulse3:pseudo=Q"),
                         doctest::Contains("pseudo must be one of P, U, G, A, B"), Error);
    CHECK_THROWS_WITH_AS(parse_attn_init("impulse_v2:iters=3"),
                         doctest::Contains("unknown option 'iters'"), Error);
    CHECK_THROWS_WITH_AS(parse_attn_init("impulse3:iters=x"),
                         doctest::Contains("iters must be a number"), Error);
    CHECK_THROWS_WITH_AS(parse_attn_init("mimetic0.7"), doctest::Contains("mimetic{alpha}_{beta}"),
                         Error);
}

TEST_CASE("attn-init: run_model_config applies model kwargs and the predecessor's scale") {
    ModelConfig c = run_model_config("simplevit_cifar", "depth=2", "impulse16_64_5_0.1_100");
    CHECK(c.depth == 2);
    CHECK(c.attn_scale == 0.1);
    CHECK(run_model_config("simplevit_cifar", "", "mimetic").attn_scale == 0.0);
    CHECK_THROWS_WITH_AS(run_model_config("vit_micro_patch4_32", "depth=0", ""),
                         doctest::Contains("'depth' needs a positive integer"), Error);
}

TEST_CASE(
    "attn-init: mimetic gives W_q W_k^T = rank-d part of 0.7 Z + 0.7 I, value path 0.4 Z - 0.4 I") {
    // Per head the q/k weights realise the best rank-head_dim approximation of A = 0.7 Z + 0.7 I
    // (exactly A with one head), and every layer's value path x -> x W_v^T W_proj^T is
    // 0.4 Z' - 0.4 I. The Z draws are replayed from the same generator (per layer: one per head,
    // then one for the value path).
    for (int64_t heads : {int64_t(1), int64_t(3)}) {
        manual_seed(0);
        ModelConfig c = small_vit();
        c.num_heads = heads;
        auto m = create_model(c);
        Generator g(5), replay(5);
        AttnInitReport rep = apply_attn_init(*m, parse_attn_init("mimetic"), g);
        CHECK(rep.targets.empty());
        const int64_t D = 96, d = D / heads;
        double worst_rank_d = 0;
        for (size_t i = 0; i < 2; ++i) {
            nn::Attention& a = mhsa(*m, i);
            Tensor w = a.qkv->weight.detach().to(DType::F64);
            for (int64_t h = 0; h < heads; ++h) {
                Tensor A = nn::sinit::mimetic_noise(D, replay) * 0.7 + eye(D) * 0.7;
                Tensor wq = w.narrow(0, h * d, d), wk = w.narrow(0, D + h * d, d);
                Tensor M = matmul(wq.transpose(0, 1), wk);  // W_q,h^T W_k,h: [D, D]
                // The rank-d truncation: residual orthogonal to M, so |A|^2 = |M|^2 + |A - M|^2.
                Tensor R = A - M;
                double inner = sum(R * M).item(), nA = sum(A * A).item();
                CHECK(std::abs(inner) / nA < 1e-6);
                worst_rank_d = std::max(worst_rank_d, rel_error(M, A));
                if (heads == 1) CHECK(rel_error(M, A) < 1e-6);
            }
            Tensor V = nn::sinit::mimetic_noise(D, replay) * 0.4 - eye(D) * 0.4;
            CHECK(rel_error(value_map(w.narrow(0, 2 * D, D), a.proj->weight), V) < 1e-6);
        }
        MESSAGE(heads, " heads: worst |W_q W_k^T - A| / |A| = ", worst_rank_d, " (the rank-", d,
                " truncation error of A)");
    }
}

TEST_CASE("attn-init: mimetic on SimpleViT fills to_qk, to_v and to_out") {
    manual_seed(1);
    ModelConfig c = model_config("simplevit_cifar");
    c.embed_dim = 32;
    c.num_heads = 1;
    c.depth = 1;
    auto m = std::dynamic_pointer_cast<SimpleViT>(create_model(c));
    Generator g(6), replay(6);
    apply_attn_init(*m, parse_attn_init("mimetic0.5_0.9"), g);
    const auto& a = *m->attn[0];
    Tensor A = nn::sinit::mimetic_noise(32, replay) * 0.5 + eye(32) * 0.9;
    Tensor w = a.to_qk->weight.detach().to(DType::F64);
    CHECK(rel_error(matmul(w.narrow(0, 0, 32).transpose(0, 1), w.narrow(0, 32, 32)), A) < 1e-6);
    Tensor V = nn::sinit::mimetic_noise(32, replay) * 0.4 - eye(32) * 0.4;
    CHECK(rel_error(value_map(a.to_v->weight, a.to_out->weight), V) < 1e-6);
}

TEST_CASE("attn-init: v2 scales pos_embed, writes the closed form per layer and hits its taps") {
    // As SI2 trains: learned position embedding with a class token, PyTorch-default init.
    manual_seed(2);
    ModelConfig c = small_vit();
    c.pos_embed = PosEmbed::Learned;
    c.class_token = true;
    c.pool = Pool::Token;
    auto m = create_model(c);
    DeiT& vit = dynamic_cast<DeiT&>(*m);
    const std::vector<double> pe_before = values(vit.pos_embed);
    Tensor v_before = mhsa(*m, 0).qkv->weight.detach().narrow(0, 2 * 96, 96).clone();
    Generator g(11), replay(11);
    AttnInitReport rep = apply_attn_init(*m, parse_attn_init("impulse_v2"), g);

    std::vector<double> pe = values(vit.pos_embed);
    for (size_t i = 0; i < pe.size(); ++i) CHECK(pe[i] == doctest::Approx(18 * pe_before[i]));
    const std::vector<nn::sinit::Offset> taps = nn::sinit::fixed_offsets_3x3(3);
    REQUIRE(rep.targets.size() == 2);
    CHECK(rep.targets[1] == taps);
    // Replay: per layer the noise E, then Z of the value path.
    Tensor P = nn::sinit::layer_norm_no_affine(
        vit.pos_embed.detach().select(0, 0).narrow(0, 1, 64).to(DType::F64));
    Tensor T = nn::sinit::shift_targets(8, taps, DType::F64);
    for (size_t i = 0; i < 2; ++i) {
        Tensor E = Tensor::trunc_normal(T.shape(), 0.0, 0.6, -2.0, 2.0, DType::F64, Device::cpu(),
                                        &replay);
        nn::sinit::QKFactors f =
            nn::sinit::impulse_v2_factors(P, nn::sinit::impulse_v2_logits(T, E), 32);
        nn::Attention& a = mhsa(*m, i);
        Tensor w = a.qkv->weight.detach();
        for (int64_t h = 0; h < 3; ++h) {
            CHECK(rel_error(w.narrow(0, h * 32, 32), f.q.select(0, h).transpose(0, 1) * 7.0) <
                  1e-6);
            CHECK(rel_error(w.narrow(0, 96 + h * 32, 32), f.k.select(0, h) * 7.0) < 1e-6);
        }
        Tensor V = nn::sinit::mimetic_noise(96, replay) * 0.4 - eye(96) * 0.4;
        CHECK(rel_error(value_map(w.narrow(0, 2 * 96, 96), a.proj->weight), V) < 1e-6);
    }
    CHECK(values(mhsa(*m, 0).qkv->weight.detach().narrow(0, 2 * 96, 96)) != values(v_before));

    // The proof: each head's map on the pseudo-input, through the layer's own q/k weights and
    // biases. Measured: mass >= 0.97 on every head of both layers, centre within 0.06 patch.
    std::vector<Tensor> maps = pseudo_input_maps(*m, rep);
    for (size_t i = 0; i < 2; ++i) check_fit(maps[i], rep.targets[i], 0.9, 0.2, "v2");
}

TEST_CASE("attn-init: v1 solves once for every layer, deterministically, through its cache") {
    // A shortened solve (400 Adam steps at lr 1e-2 instead of 10,000 at 1e-4) keeps this fast;
    // the released settings are measured in docs/models.md and the reference test.
    TempDir dir;
    const std::string cache = dir.path.string();
    const AttnInitSpec spec = parse_attn_init("impulse3:iters=400,lr=0.01");
    auto build = [] {
        manual_seed(3);
        return create_model(small_vit());
    };
    auto m1 = build();
    Tensor v_before = mhsa(*m1, 0).qkv->weight.detach().narrow(0, 2 * 96, 96).clone();
    Generator g1(21);
    AttnInitReport r1 = apply_attn_init(*m1, spec, g1, cache);
    CHECK(r1.solves == 1);
    CHECK(r1.cache_hits == 0);
    REQUIRE(r1.cache_files.size() == 1);
    CHECK(fs::exists(r1.cache_files[0]));
    REQUIRE(r1.targets.size() == 2);
    CHECK(r1.targets[0] == r1.targets[1]);
    // init_once: both layers hold the same q/k rows; the v rows keep their init.
    Tensor w0 = mhsa(*m1, 0).qkv->weight.detach(), w1 = mhsa(*m1, 1).qkv->weight.detach();
    CHECK(values(w0.narrow(0, 0, 192)) == values(w1.narrow(0, 0, 192)));
    CHECK(values(w0.narrow(0, 192, 96)) == values(v_before));
    CHECK(r1.losses[0] > 0);

    // The same seed again: read from the cache, the same weights.
    auto m2 = build();
    Generator g2(21);
    AttnInitReport r2 = apply_attn_init(*m2, spec, g2, cache);
    CHECK(r2.cache_hits == 1);
    CHECK(values(mhsa(*m2, 1).qkv->weight) == values(w1));
    CHECK(r2.summary().find("1 from the cache") != std::string::npos);

    // A corrupt cache file is reported and solved again, with the same result, and rewritten.
    { std::ofstream(r1.cache_files[0], std::ios::trunc) << "not a safetensors file"; }
    auto m3 = build();
    Generator g3(21);
    AttnInitReport r3 = apply_attn_init(*m3, spec, g3, cache);
    CHECK(r3.cache_hits == 0);
    CHECK(values(mhsa(*m3, 1).qkv->weight) == values(w1));
    CHECK_NOTHROW(load_safetensors(r1.cache_files[0]));

    // Without a cache, and with a solve per layer.
    auto m4 = build();
    Generator g4(21);
    AttnInitReport r4 = apply_attn_init(*m4, spec, g4);
    CHECK(r4.cache_files.empty());
    CHECK(values(mhsa(*m4, 1).qkv->weight) == values(w1));
    auto m5 = build();
    Generator g5(21);
    AttnInitReport r5 =
        apply_attn_init(*m5, parse_attn_init("impulse3:iters=50,lr=0.01,init_once=false"), g5);
    CHECK(r5.solves == 2);
}

TEST_CASE("attn-init: v1 maps concentrate on each head's tap") {
    // The pseudo-input maps after the shortened solve of the previous case.
    manual_seed(3);
    auto m = create_model(small_vit());
    Generator g(21);
    AttnInitReport rep = apply_attn_init(*m, parse_attn_init("impulse3:iters=400,lr=0.01"), g);
    std::vector<Tensor> maps = pseudo_input_maps(*m, rep);
    REQUIRE(maps.size() == 2);
    CHECK(maps[0].shape() == Shape{3, 64, 64});
    check_fit(maps[1], rep.targets[1], 0.5, 0.5, "v1 (shortened)");
}

TEST_CASE("attn-init: v1 at the released settings centres every head on its tap (micro ViT)") {
    // The full solve (Adam lr 1e-4, 10,000 steps, column norms reset every 100) on
    // vit_micro_patch4_32's 8x8 grid. Measured here: 0.24-0.25 of each row's mass on the tap
    // (uniform: 1/64) and the attention centre 0.28-0.30 patch from it; the PyTorch version of
    // the released procedure on the same size (other draws): 0.25-0.26 and 0.31-0.34. The released
    // v1 maps are a soft kernel around the tap, not a one-hot shift: resetting the column norms of
    // Q and K to their initial mean every 100 steps bounds the logits. Thresholds: mass > 0.2 (13x
    // uniform), centre < 0.5.
    manual_seed(6);
    auto m = create_model("vit_micro_patch4_32");
    Generator g(8);
    AttnInitReport rep = apply_attn_init(*m, parse_attn_init("impulse3"), g);
    MESSAGE("v1 micro: ", rep.summary());
    check_fit(pseudo_input_maps(*m, rep)[5], rep.targets[5], 0.2, 0.5, "v1 micro");
}

TEST_CASE("attn-init: the predecessor solves every SimpleViT layer on the raw PE with its scale") {
    manual_seed(4);
    ModelConfig c = model_config("simplevit_cifar");
    c.img_size = 8;  // a 4x4 grid
    c.embed_dim = 32;
    c.num_heads = 4;  // head_dim 8
    c.depth = 2;
    auto m = std::dynamic_pointer_cast<SimpleViT>(create_model(c));
    Generator g(31);
    AttnInitReport rep =
        apply_attn_init(*m, parse_attn_init("impulse4_8_3_0.1_100:iters=300,lr=0.01"), g);
    CHECK(rep.solves == 2);
    for (const auto& a : m->attn) CHECK(a->scale == 0.1);
    CHECK(values(rep.pseudo_inputs[0]) == values(m->pos_embed.select(0, 0)));  // no LayerNorm
    std::vector<Tensor> maps = pseudo_input_maps(*m, rep);
    for (size_t i = 0; i < 2; ++i) {
        nn::sinit::TargetFit fit = nn::sinit::target_fit(maps[i], rep.targets[i]);
        for (double mass : fit.mass) CHECK(mass > 1.0 / 16);  // above uniform
    }
    CHECK_THROWS_WITH_AS(apply_attn_init(*m, parse_attn_init("impulse16_8_3_0.1_100"), g),
                         doctest::Contains("16x16 grid but the model's patch grid is 4x4"), Error);
    CHECK_THROWS_WITH_AS(apply_attn_init(*m, parse_attn_init("impulse4_16_3_0.1_100"), g),
                         doctest::Contains("rank 16 but the model's head_dim is 8"), Error);
}

TEST_CASE("attn-init: methods refuse models they do not fit") {
    manual_seed(5);
    Generator g(1);
    auto vit = create_model(small_vit());
    ModelConfig sc = model_config("simplevit_cifar");
    sc.embed_dim = 32;
    sc.num_heads = 4;
    sc.depth = 1;
    auto sv = create_model(sc);
    CHECK_THROWS_WITH_AS(apply_attn_init(*sv, parse_attn_init("impulse3"), g),
                         doctest::Contains("v1 for ViT models"), Error);
    CHECK_THROWS_WITH_AS(apply_attn_init(*sv, parse_attn_init("impulse_v2"), g),
                         doctest::Contains("v2 for ViT models"), Error);
    CHECK_THROWS_WITH_AS(apply_attn_init(*vit, parse_attn_init("impulse_ci"), g),
                         doctest::Contains("for SimpleViT"), Error);
    auto convit = create_model("convit_cifar_micro");
    CHECK_THROWS_WITH_AS(apply_attn_init(*convit, parse_attn_init("mimetic"), g),
                         doctest::Contains("neither a DeiT/ViT nor a SimpleViT"), Error);
    // "none" changes nothing.
    std::vector<double> before = values(mhsa(*vit, 0).qkv->weight);
    CHECK(apply_attn_init(*vit, parse_attn_init("none"), g).solves == 0);
    CHECK(values(mhsa(*vit, 0).qkv->weight) == before);
}
