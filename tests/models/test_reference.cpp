// Tiny ConViT / DeiT against the PyTorch dumps in tests/reference (make_reference.py): logits, loss
// and every parameter gradient, in float64 (1e-8) and float32 (1e-4 relative).
#include <algorithm>
#include <cmath>
#include <string>

#include "core/safetensors.h"
#include "models/registry.h"
#include "tests/helpers.h"

using namespace vg;
using namespace vg::models;

namespace {

ModelConfig config_from_metadata(const std::map<std::string, std::string>& m,
                                 const std::string& name) {
    auto get = [&](const char* k) {
        auto it = m.find(k);
        REQUIRE_MESSAGE(it != m.end(), "metadata field ", k, " missing in ", name);
        return it->second;
    };
    // Fields of the structured-init dumps (make_sinit_reference.py); absent in the older ones.
    auto get_or = [&](const char* k, const std::string& fallback) {
        auto it = m.find(k);
        return it == m.end() ? fallback : it->second;
    };
    ModelConfig c;
    c.name = name;
    const std::string arch = get("arch");
    c.arch = arch == "convit" ? Arch::ConViT : arch == "simplevit" ? Arch::SimpleViT : Arch::DeiT;
    c.class_token = get_or("class_token", "true") == "true";
    c.pool = get_or("pool", "token") == "avg" ? Pool::Avg : Pool::Token;
    c.pos_embed =
        get_or("pos_embed", "learned") == "sincos" ? PosEmbed::SinCos2d : PosEmbed::Learned;
    c.mlp_ratio = std::stod(get_or("mlp_ratio", "4.0"));
    c.spatial_alpha = std::stod(get_or("spatial_alpha", "0.5"));
    c.input_pe = get_or("input_pe", "false") == "true";
    c.attn_scale = std::stod(get_or("attn_scale", "0"));
    c.img_size = std::stoll(get("img_size"));
    c.patch_size = std::stoll(get("patch_size"));
    c.embed_dim = std::stoll(get("embed_dim"));
    c.depth = std::stoll(get("depth"));
    c.num_heads = std::stoll(get("num_heads"));
    c.local_up_to_layer = std::stoll(get("local_up_to_layer"));
    c.num_classes = std::stoll(get("num_classes"));
    c.distilled = get("distilled") == "true";
    c.qkv_bias = get("qkv_bias") == "true";
    return c;
}

// Worst |a - b|, and that relative to max(max |b|, 1e-3). The floor matters for gradients that
// vanish analytically (pos_proj.bias: a per-row constant does not change a softmax), where both
// sides hold only rounding noise.
struct Diff {
    double abs = 0, rel = 0;
};

Diff compare(const Tensor& got, const Tensor& want) {
    std::vector<double> a = got.detach().cpu().to(DType::F64).contiguous().to_vector();
    std::vector<double> b = want.to(DType::F64).contiguous().to_vector();
    REQUIRE(a.size() == b.size());
    Diff d;
    double scale = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        d.abs = std::max(d.abs, std::fabs(a[i] - b[i]));
        if (std::isnan(a[i])) d.abs = INFINITY;
        scale = std::max(scale, std::fabs(b[i]));
    }
    d.rel = d.abs / std::max(scale, 1e-3);
    return d;
}

void run_reference(const std::string& file, DType dt, double tol) {
    std::string path = std::string(VG_TEST_DATA_DIR) + "/" + file + ".safetensors";
    SafetensorsFile ref = load_safetensors(path);
    ModelConfig cfg = config_from_metadata(ref.metadata, file);
    auto model = create_model(cfg);
    model->to(dt);
    model->eval();

    nn::StateDict sd;
    int64_t params = 0;
    for (auto& [name, t] : ref.tensors) {
        if (name.rfind("param.", 0) == 0) sd[name.substr(6)] = t.to(dt), ++params;
        if (name.rfind("buffer.", 0) == 0) {
            // Fixed tables the model builds itself (sin-cos PE): equal to the reference's.
            nn::StateDict own = model->state_dict();
            REQUIRE_MESSAGE(own.count(name.substr(7)), file, ": model has no buffer ", name);
            Diff d = compare(own.at(name.substr(7)), t);
            MESSAGE(file, " ", name, ": max |diff| ", d.abs);
            CHECK(d.abs <= 1e-6);
            sd[name.substr(7)] = t.to(dt);
        }
    }
    model->load_state_dict(sd, true);

    Tensor x = ref.tensors.at("input").to(dt);
    Tensor logits = model->forward(x);
    Tensor loss = cross_entropy(logits, ref.tensors.at("labels"));
    loss.backward();

    double worst = 0;
    std::string worst_name;
    auto check = [&](const std::string& what, const Tensor& got, const Tensor& want) {
        REQUIRE_MESSAGE(got.defined(), what, " has no gradient");
        CHECK_MESSAGE(got.shape() == want.shape(), what, ": ", got.shape(), " vs ", want.shape());
        Diff d = compare(got, want);
        MESSAGE(file, " [", dtype_name(dt), "] ", what, ": max |diff| ", d.abs, ", relative ",
                d.rel);
        CHECK_MESSAGE(d.rel <= tol, file, " [", dtype_name(dt), "] ", what, " relative diff ",
                      d.rel);
        if (d.rel > worst) worst = d.rel, worst_name = what;
    };
    check("logits", logits, ref.tensors.at("logits"));
    check("loss", loss.reshape({1}), ref.tensors.at("loss"));
    int grads = 0;
    for (auto& [name, p] : model->named_parameters()) {
        auto it = ref.tensors.find("grad." + name);
        REQUIRE_MESSAGE(it != ref.tensors.end(), "reference has no gradient for ", name);
        check("grad." + name, p.grad(), it->second);
        ++grads;
    }
    CHECK(grads == int(params));
    MESSAGE(file, " [", dtype_name(dt), "]: ", grads, " gradients compared; worst relative diff ",
            worst, " (", worst_name, ")");
}

}  // namespace

TEST_CASE("reference: tiny ConViT matches PyTorch (float64)") {
    run_reference("convit_ref", DType::F64, 1e-10);
}
TEST_CASE("reference: tiny DeiT matches PyTorch (float64)") {
    run_reference("deit_ref", DType::F64, 1e-10);
}
TEST_CASE("reference: tiny distilled DeiT matches PyTorch (float64)") {
    run_reference("deit_distilled_ref", DType::F64, 1e-10);
}
TEST_CASE(
    "reference: tiny ViT without class token (sin-cos PE, mean pool, fc_norm) matches PyTorch") {
    run_reference("sinit_vit_gap_ref", DType::F64, 1e-10);
    run_reference("sinit_vit_gap_ref", DType::F32, 1e-4);
}
TEST_CASE("reference: tiny SimpleViT (q/k from alpha LN(x) + (1 - alpha) PE) matches PyTorch") {
    run_reference("sinit_simplevit_ref", DType::F64, 1e-10);
    run_reference("sinit_simplevit_ref", DType::F32, 1e-4);
}
TEST_CASE("reference: tiny SimpleViT with the PE mixed in at the input matches PyTorch") {
    run_reference("sinit_simplevit_pe_ref", DType::F64, 1e-10);
    run_reference("sinit_simplevit_pe_ref", DType::F32, 1e-4);
}
TEST_CASE("reference: tiny ConViT matches PyTorch (float32)") {
    run_reference("convit_ref", DType::F32, 1e-4);
}
TEST_CASE("reference: tiny DeiT matches PyTorch (float32)") {
    run_reference("deit_ref", DType::F32, 1e-4);
}
TEST_CASE("reference: tiny distilled DeiT matches PyTorch (float32)") {
    run_reference("deit_distilled_ref", DType::F32, 1e-4);
}
