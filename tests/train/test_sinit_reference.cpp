// The structured-init closed forms and the v1 solve against the independent PyTorch reference
// (tests/reference/make_sinit_reference.py, written from the released code): the sin-cos tables,
// v2's closed form and the mimetic factors from the same P, noise and Z, and a small v1 Adam solve
// from the same start, compared by its attention maps and their target fit.
#include <cmath>

#include "core/safetensors.h"
#include "nn/pos_embed.h"
#include "nn/structured_init.h"
#include "tests/helpers.h"
#include "train/init/impulse_solve.h"

using namespace vg;
using namespace vg::nn::sinit;

namespace {

SafetensorsFile reference(const char* name) {
    return load_safetensors(std::string(VG_TEST_DATA_DIR) + "/" + name + ".safetensors");
}

// max |a - b| / max(max |b|, 1e-12).
double rel_diff(const Tensor& a, const Tensor& b) {
    REQUIRE(a.shape() == b.shape());
    std::vector<double> x = a.to(DType::F64).contiguous().to_vector(),
                        y = b.to(DType::F64).contiguous().to_vector();
    double d = 0, s = 1e-12;
    for (size_t i = 0; i < x.size(); ++i)
        d = std::max(d, std::abs(x[i] - y[i])), s = std::max(s, std::abs(y[i]));
    return d / s;
}

}  // namespace

TEST_CASE("sinit reference: sin-cos tables, v2 closed form and mimetic factors equal PyTorch's") {
    SafetensorsFile ref = reference("sinit_closed_forms");
    const auto& t = ref.tensors;
    CHECK(rel_diff(nn::sincos_pos_embed_2d(8, 32, nn::SinCosLayout::Timm, DType::F64),
                   t.at("sincos_timm_8_32")) < 1e-14);
    CHECK(rel_diff(nn::sincos_pos_embed_2d(8, 32, nn::SinCosLayout::SimpleViT, DType::F64),
                   t.at("sincos_simplevit_8_32")) < 1e-14);

    // v2: S = 6, D = 24, H = 3, r = 8 with the reference's PE and noise.
    Tensor P = layer_norm_no_affine(t.at("v2.pos_embed").select(0, 0) * 18.0);
    CHECK(rel_diff(P, t.at("v2.P")) < 1e-12);
    Tensor T = shift_targets(6, fixed_offsets_3x3(3), DType::F64);
    Tensor W = impulse_v2_logits(T, t.at("v2.noise"));
    CHECK(rel_diff(W, t.at("v2.logits")) == 0.0);
    QKFactors f = impulse_v2_factors(t.at("v2.P"), W, 8);
    double dq = rel_diff(f.q, t.at("v2.q")), dk = rel_diff(f.k, t.at("v2.k"));
    MESSAGE("v2 factors: relative difference q ", dq, ", k ", dk);
    CHECK(dq < 1e-8);
    CHECK(dk < 1e-8);

    for (int D : {16, 32})
        for (auto [tag, a, b] : {std::tuple{"qk", 0.7, 0.7}, std::tuple{"v", 0.4, -0.4}}) {
            std::string p = fmt::format("mimetic{}.{}.", D, tag);
            MimeticFactors m = mimetic_factors(t.at(fmt::format("mimetic{}.Z", D)), a, b);
            CHECK_MESSAGE(rel_diff(m.L, t.at(p + "L")) < 1e-10, p);
            CHECK_MESSAGE(rel_diff(m.R, t.at(p + "R")) < 1e-10, p);
        }
}

TEST_CASE("sinit reference: a v1 Adam solve from the same start fits its taps as PyTorch's does") {
    SafetensorsFile ref = reference("sinit_v1_solve");
    const auto& t = ref.tensors;
    const int64_t iterations = std::stoll(ref.metadata.at("iterations"));
    ImpulseSolveOptions o;
    o.scale = std::stod(ref.metadata.at("scale"));
    o.iterations = iterations;
    ImpulseSolveResult r = solve_impulse(t.at("P"), t.at("targets"), t.at("q0"), t.at("k0"), o);
    NoGradGuard ng;
    Tensor P = t.at("P");
    Tensor maps = softmax(matmul(matmul(P, r.q), matmul(r.k, P.transpose(0, 1)), o.scale), -1);
    const std::vector<Offset> taps{kernel_offset(0, 3), kernel_offset(5, 3)};
    TargetFit fit = target_fit(maps, taps);
    std::vector<double> mass = t.at("mass").to_vector(), dist = t.at("distance").to_vector();
    double map_diff = max(abs(maps - t.at("maps"))).item();
    MESSAGE("v1 solve, ", iterations, " iterations: loss ", r.loss, " (PyTorch ",
            t.at("loss").item(), "), max |map difference| ", map_diff);
    for (size_t h = 0; h < 2; ++h) {
        MESSAGE("head ", h, ": mass ", fit.mass[h], " (PyTorch ", mass[h], "), distance ",
                fit.distance[h], " (PyTorch ", dist[h], ")");
        CHECK(std::abs(fit.mass[h] - mass[h]) < 0.01);
        CHECK(std::abs(fit.distance[h] - dist[h]) < 0.02);
    }
    CHECK(r.loss == doctest::Approx(t.at("loss").item()).epsilon(0.02));
    CHECK(map_diff < 0.02);
}
