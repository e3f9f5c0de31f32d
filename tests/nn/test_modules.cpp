// Module tree, state dicts, initialisers, and float64 gradchecks of every layer on tiny sizes
// (dim 8, 2 heads, 4 patches).
#include <cmath>

#include "nn/attention.h"
#include "nn/block.h"
#include "nn/gpsa.h"
#include "nn/init.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "nn/mlp.h"
#include "nn/patch_embed.h"
#include "tests/nn/nn_helpers.h"

using namespace vg;
using namespace vg::nn;
using namespace vg::test;

namespace {

std::vector<std::string> names_of(const Module& m) {
    std::vector<std::string> out;
    for (auto& [n, _] : m.named_parameters()) out.push_back(n);
    return out;
}

void check_gradcheck(Module& m, const Tensor& x, const std::function<Tensor(const Tensor&)>& f,
                     const std::string& what) {
    GradcheckResult r = gradcheck_module(m, x, f);
    MESSAGE(what, ": max |analytic - numeric| ", r.max_abs_error);
    CHECK_MESSAGE(r.ok, what, ": ", r.message);
}

Tensor input(const Shape& s, uint64_t seed = 5) {
    return uniform(s, -1.5, 1.5, DType::F64, seed).requires_grad_();
}

}  // namespace

TEST_CASE("Module: parameter names follow timm's state dict") {
    manual_seed(0);
    Block gpsa_block(BlockConfig{.dim = 8, .num_heads = 4, .use_gpsa = true});
    CHECK(names_of(gpsa_block) ==
          std::vector<std::string>{"norm1.weight", "norm1.bias", "attn.gating_param",
                                   "attn.qk.weight", "attn.v.weight", "attn.proj.weight",
                                   "attn.proj.bias", "attn.pos_proj.weight", "attn.pos_proj.bias",
                                   "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                                   "mlp.fc2.weight", "mlp.fc2.bias"});
    Block mhsa_block(BlockConfig{.dim = 8, .num_heads = 2, .qkv_bias = true});
    CHECK(names_of(mhsa_block) ==
          std::vector<std::string>{"norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias",
                                   "attn.proj.weight", "attn.proj.bias", "norm2.weight",
                                   "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight",
                                   "mlp.fc2.bias"});
    // 12 D^2 + 10 D + 5 H (GPSA) and 12 D^2 + 13 D (MHSA with qkv bias),
    // docs/derivations/convit-init.md.
    CHECK(gpsa_block.num_parameters() == 12 * 64 + 10 * 8 + 5 * 4);
    CHECK(mhsa_block.num_parameters() == 12 * 64 + 13 * 8);
    PatchEmbed pe(8, 4, 3, 8);
    CHECK(names_of(pe) == std::vector<std::string>{"proj.weight", "proj.bias"});
    CHECK(pe.proj->weight.shape() == Shape{8, 3, 4, 4});
}

TEST_CASE("Module: train/eval, zero_grad, to(dtype)") {
    manual_seed(1);
    Mlp m(4, 8, 0.5);
    CHECK(m.is_training());
    m.eval();
    CHECK_FALSE(m.drop->is_training());
    m.train();
    CHECK(m.fc1->is_training());

    m.to(DType::F64);
    for (auto& [n, p] : m.named_parameters()) {
        CHECK(p.dtype() == DType::F64);
        CHECK(p.requires_grad());
        CHECK(p.is_leaf());
    }
    m.eval();
    Tensor x = input({3, 4});
    sum(m.forward(x)).backward();
    Tensor g = m.fc1->weight.grad();
    REQUIRE(g.defined());
    const void* storage = g.raw_data();
    m.zero_grad();
    CHECK(m.fc1->weight.grad().raw_data() == storage);  // the buffer is kept
    for (double v : m.fc1->weight.grad().to_vector()) CHECK(v == 0.0);
}

TEST_CASE("Module: load_state_dict reports every missing, unexpected and mismatched name") {
    manual_seed(2);
    Mlp a(4, 8), b(4, 8);
    StateDict sd = a.state_dict();
    b.load_state_dict(sd);
    CHECK(b.fc2->weight.to_vector() == a.fc2->weight.to_vector());

    StateDict broken = sd;
    broken.erase("fc1.bias");
    broken["fc9.weight"] = Tensor::zeros({2});
    broken["fc2.weight"] = Tensor::zeros({4, 7});
    broken["fc2.bias"] = Tensor::zeros({4}, DType::F64);
    try {
        b.load_state_dict(broken);
        FAIL("expected an error");
    } catch (const Error& e) {
        std::string msg = e.what();
        CHECK(msg.find("load_state_dict") != std::string::npos);
        CHECK(msg.find("missing (1): fc1.bias") != std::string::npos);
        CHECK(msg.find("unexpected (1): fc9.weight") != std::string::npos);
        CHECK(msg.find("fc2.weight (expected float32 [4, 8], got float32 [4, 7])") !=
              std::string::npos);
        CHECK(msg.find("fc2.bias (expected float32 [4], got float64 [4])") != std::string::npos);
    }
    // Non-strict tolerates missing/unexpected names, never mismatches.
    StateDict partial = sd;
    partial.erase("fc1.bias");
    partial["extra"] = Tensor::zeros({1});
    b.load_state_dict(partial, false);
    partial["fc2.bias"] = Tensor::zeros({5});
    CHECK_THROWS_WITH_AS(b.load_state_dict(partial, false),
                         doctest::Contains("mismatched (1): fc2.bias"), Error);
}

TEST_CASE("init: timm and PyTorch default distributions") {
    manual_seed(3);
    Tensor t = Tensor::empty({200, 500});
    init::trunc_normal_(t, 0.02);
    Tensor m = mean(t), sd = sqrt(var(t));
    CHECK(std::fabs(m.item()) < 1e-3);
    CHECK(std::fabs(sd.item() - 0.02) < 5e-4);  // bounds +-2 are absolute: no visible truncation

    Conv2d conv(3, 16, 4, 4);
    double bound = 1.0 / std::sqrt(48.0);
    double wmax = max(abs(conv.weight)).item(), bmax = max(abs(conv.bias)).item();
    CHECK(wmax <= bound);
    CHECK(wmax > 0.9 * bound);
    CHECK(bmax <= bound);

    Tensor x = Tensor::empty({300, 200});
    init::xavier_uniform_(x);
    double xb = std::sqrt(6.0 / 500.0);
    CHECK(max(abs(x)).item() <= xb);
    CHECK(max(abs(x)).item() > 0.99 * xb);

    Linear lin(8, 4);
    CHECK(max(abs(lin.bias)).item() == 0.0);
    LayerNorm ln(8);
    CHECK(ln.weight.to_vector() == std::vector<double>(8, 1.0));
    CHECK(ln.bias.to_vector() == std::vector<double>(8, 0.0));
}

TEST_CASE("PatchEmbed: the reshape + GEMM path equals the general conv2d") {
    manual_seed(4);
    PatchEmbed pe(8, 4, 3, 8);
    pe.to(DType::F64);
    Tensor x = input({2, 3, 8, 8});
    Tensor fast = pe.forward(x);
    Tensor conv = pe.proj->forward(x).flatten(2).transpose(1, 2);  // [B, N, D], row-major tokens
    CHECK(fast.shape() == Shape{2, 4, 8});
    CHECK(max(abs(fast - conv)).item() < 1e-12);
    CHECK_THROWS_WITH_AS(pe.forward(input({2, 3, 8, 4})), doctest::Contains("PatchEmbed"), Error);
    CHECK_THROWS_WITH_AS(PatchEmbed(10, 4, 3, 8), doctest::Contains("multiple of the patch size"),
                         Error);
}

TEST_CASE("gradcheck: Linear, LayerNorm, Mlp, PatchEmbed") {
    manual_seed(5);
    Linear lin(8, 6);
    lin.to(DType::F64);
    perturb(lin, 0.3, 10);
    check_gradcheck(
        lin, input({2, 3, 8}), [&](const Tensor& x) { return lin.forward(x); }, "Linear");

    LayerNorm ln(8);
    ln.to(DType::F64);
    perturb(ln, 0.3, 20);
    check_gradcheck(
        ln, input({2, 3, 8}), [&](const Tensor& x) { return ln.forward(x); }, "LayerNorm");

    Mlp mlp(8, 16);
    mlp.to(DType::F64);
    perturb(mlp, 0.3, 30);
    check_gradcheck(
        mlp, input({2, 3, 8}), [&](const Tensor& x) { return mlp.forward(x); }, "Mlp");

    PatchEmbed pe(4, 2, 3, 8);
    pe.to(DType::F64);
    check_gradcheck(
        pe, input({2, 3, 4, 4}), [&](const Tensor& x) { return pe.forward(x); }, "PatchEmbed");
}

TEST_CASE("gradcheck: Attention and GPSA (dim 8, 4 patches)") {
    manual_seed(6);
    Attention mhsa(8, 2, true);
    mhsa.to(DType::F64);
    perturb(mhsa, 0.5, 40);
    check_gradcheck(
        mhsa, input({2, 5, 8}), [&](const Tensor& x) { return mhsa.forward(x); }, "Attention");

    // gating_param, qk, v, proj and pos_proj (W_pos and b_pos) are all inputs of the check.
    for (int64_t heads : {1, 4}) {
        GPSA gpsa(8, heads);
        gpsa.to(DType::F64);
        perturb(gpsa, 0.5, 50);
        check_gradcheck(
            gpsa, input({2, 4, 8}), [&](const Tensor& x) { return gpsa.forward(x); },
            heads == 1 ? "GPSA (1 head)" : "GPSA (4 heads)");
    }
    GPSA g2(8, 2, false, 0, 0, 1.0, false);  // 2 heads is not a square: only without local init
    g2.to(DType::F64);
    perturb(g2, 0.5, 60);
    check_gradcheck(
        g2, input({2, 4, 8}), [&](const Tensor& x) { return g2.forward(x); }, "GPSA (2 heads)");
}

TEST_CASE("gradcheck: Block with MHSA and with GPSA") {
    manual_seed(7);
    Block mb(BlockConfig{.dim = 8, .num_heads = 2, .qkv_bias = true});
    mb.to(DType::F64);
    perturb(mb, 0.3, 70);
    check_gradcheck(
        mb, input({2, 5, 8}), [&](const Tensor& x) { return mb.forward(x); }, "Block (MHSA)");

    Block gb(BlockConfig{.dim = 8, .num_heads = 4, .use_gpsa = true});
    gb.to(DType::F64);
    perturb(gb, 0.3, 80);
    check_gradcheck(
        gb, input({2, 4, 8}), [&](const Tensor& x) { return gb.forward(x); }, "Block (GPSA)");
}

TEST_CASE("attention internals: recorded on request, computation unchanged") {
    manual_seed(8);
    Attention mhsa(8, 2);
    Tensor x = uniform({3, 5, 8}, -1, 1, DType::F32, 9);
    AttentionInternals in;
    Tensor a = mhsa.forward(x), b = mhsa.forward(x, &in);
    CHECK(a.to_vector() == b.to_vector());
    REQUIRE(in.attn.defined());
    CHECK(in.attn.shape() == Shape{3, 2, 5, 5});
    CHECK_FALSE(in.attn.requires_grad());
    CHECK_FALSE(in.content.defined());
    Tensor rows = sum(in.attn, {-1});
    CHECK(max(abs(rows - 1.0)).item() < 1e-5);
}

TEST_CASE("layer errors name the layer and the shapes") {
    CHECK_THROWS_WITH_AS(Attention(10, 3), doctest::Contains("Attention: dim 10"), Error);
    CHECK_THROWS_WITH_AS(GPSA(10, 4), doctest::Contains("GPSA: dim 10"), Error);
    Attention a(8, 2);
    CHECK_THROWS_WITH_AS(a.forward(Tensor::zeros({2, 3, 6})), doctest::Contains("[2, 3, 6]"),
                         Error);
    GPSA g(8, 4);
    CHECK_THROWS_WITH_AS(g.forward(Tensor::zeros({2, 5, 8})),
                         doctest::Contains("not a perfect square"), Error);
    CHECK_THROWS_WITH_AS(Dropout(1.0), doctest::Contains("Dropout: rate"), Error);
    CHECK_THROWS_WITH_AS(DropPath(-0.1), doctest::Contains("DropPath: rate"), Error);
    CHECK_THROWS_WITH_AS(Linear(0, 3), doctest::Contains("Linear"), Error);
}

TEST_CASE("Dropout and DropPath are identities in eval and active in train") {
    manual_seed(9);
    Tensor x = Tensor::ones({64, 4, 8});
    DropPath dp(0.5);
    Dropout d(0.5);
    dp.eval();
    d.eval();
    CHECK(dp.forward(x).to_vector() == x.to_vector());
    CHECK(d.forward(x).to_vector() == x.to_vector());
    dp.train();
    d.train();
    std::vector<double> y = dp.forward(x).to_vector();
    int zero_samples = 0;
    for (int b = 0; b < 64; ++b) {
        double first = y[size_t(b * 32)];
        CHECK((first == 0.0 || first == 2.0));
        for (int k = 1; k < 32; ++k) CHECK(y[size_t(b * 32 + k)] == first);  // whole samples
        zero_samples += first == 0.0;
    }
    CHECK(zero_samples > 10);
    CHECK(zero_samples < 54);
    std::vector<double> z = d.forward(x).to_vector();
    CHECK(std::count(z.begin(), z.end(), 0.0) > 500);
}

namespace {
// A module with a buffer (state that is saved but not trained).
struct WithBuffer : Module {
    Tensor w = Tensor::ones({2});
    Tensor running = Tensor::zeros({3});
    WithBuffer() {
        register_parameter("w", &w);
        register_buffer("running", &running);
    }
};
}  // namespace

TEST_CASE("Module: buffers are in the state dict but not among the parameters") {
    WithBuffer m;
    CHECK(m.num_parameters() == 2);
    CHECK(m.named_buffers().size() == 1);
    CHECK_FALSE(m.running.requires_grad());
    StateDict sd = m.state_dict();
    CHECK(sd.count("running") == 1);
    sd["running"] = Tensor::full({3}, 4.0);
    m.load_state_dict(sd);
    CHECK(m.running.to_vector() == std::vector<double>(3, 4.0));
    m.to(DType::F64);
    CHECK(m.running.dtype() == DType::F64);
    CHECK(m.w.requires_grad());
}
