// Shared by the tests that compare models against the PyTorch dumps of tests/reference: the model
// configuration stored in a dump's metadata, and the relative difference of two tensors.
#pragma once
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <string>

#include "core/safetensors.h"
#include "models/model.h"
#include "models/registry.h"
#include "tests/helpers.h"

namespace vg::test {

// The ModelConfig a dump was made with. Fields a script does not write keep their defaults
// (make_reference.py writes no Refiner fields, make_refiner_reference.py no distillation flag).
inline models::ModelConfig config_from_metadata(const std::map<std::string, std::string>& m,
                                                const std::string& name) {
    auto get = [&](const char* k) {
        auto it = m.find(k);
        REQUIRE_MESSAGE(it != m.end(), "metadata field ", k, " missing in ", name);
        return it->second;
    };
    auto has = [&](const char* k) { return m.count(k) == 1; };
    // Fields of the structured-init dumps (make_sinit_reference.py); absent in the older ones.
    auto get_or = [&](const char* k, const std::string& fallback) {
        auto it = m.find(k);
        return it == m.end() ? fallback : it->second;
    };
    models::ModelConfig c;
    c.name = name;
    const std::string arch = get("arch");
    c.arch = arch == "convit"      ? models::Arch::ConViT
             : arch == "refiner"   ? models::Arch::Refiner
             : arch == "simplevit" ? models::Arch::SimpleViT
                                   : models::Arch::DeiT;
    c.class_token = get_or("class_token", "true") == "true";
    c.pool = get_or("pool", "token") == "avg" ? models::Pool::Avg : models::Pool::Token;
    c.pos_embed = get_or("pos_embed", "learned") == "sincos" ? models::PosEmbed::SinCos2d
                                                             : models::PosEmbed::Learned;
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
    if (has("mlp_ratio")) c.mlp_ratio = std::stod(get("mlp_ratio"));
    if (has("refiner_expand")) c.refiner_expand = std::stoll(get("refiner_expand"));
    if (has("refiner_kernel")) c.refiner_kernel = std::stoll(get("refiner_kernel"));
    if (has("refiner_stem")) {
        c.refiner_stem.clear();
        std::stringstream ss(get("refiner_stem"));
        for (std::string w; std::getline(ss, w, ',');) c.refiner_stem.push_back(std::stoll(w));
    }
    return c;
}

// Worst |a - b|, and that relative to max(max |b|, 1e-3). The floor matters for gradients that
// vanish analytically (pos_proj.bias: a per-row constant does not change a softmax), where both
// sides hold only rounding noise.
struct Diff {
    double abs = 0, rel = 0;
};

inline Diff compare(const Tensor& got, const Tensor& want) {
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

// Builds `cfg` in `dt`, loads the dump's "param." and "buffer." tensors strictly, runs one forward
// (with `internals` when given) and backward in training or eval mode, and compares the logits,
// loss, every parameter gradient and the buffers (updated in training) with the dump's "<mode>."
// tensors within `tol` relative. Returns the model for further checks.
inline std::shared_ptr<models::VisionModel> compare_reference_mode(
    const std::string& file, const SafetensorsFile& ref, const models::ModelConfig& cfg, DType dt,
    bool train, double tol, models::ModelInternals* internals = nullptr) {
    const std::string mode = train ? "train." : "eval.";
    INFO(file, " [", dtype_name(dt), ", ", mode, "]");
    auto model = models::create_model(cfg);
    model->to(dt);
    nn::StateDict sd;
    for (auto& [name, t] : ref.tensors) {
        if (name.rfind("param.", 0) == 0) sd[name.substr(6)] = t.to(dt);
        if (name.rfind("buffer.", 0) == 0)
            sd[name.substr(7)] = is_floating(t.dtype()) ? t.to(dt) : t;
    }
    model->load_state_dict(sd, /*strict=*/true);
    model->train(train);

    Tensor logits = model->forward(ref.tensors.at("input").to(dt), internals);
    Tensor loss = cross_entropy(logits, ref.tensors.at("labels"));
    loss.backward();

    double worst = 0;
    std::string worst_name;
    auto check = [&](const std::string& what, const Tensor& got, const std::string& key) {
        REQUIRE_MESSAGE(got.defined(), what, " is undefined");
        const Tensor& want = ref.tensors.at(key);
        REQUIRE_MESSAGE(got.shape() == want.shape(), what, ": ", got.shape(), " vs ", want.shape());
        double d = compare(got, want).rel;
        CHECK_MESSAGE(d <= tol, what, " relative diff ", d);
        if (d > worst) worst = d, worst_name = what;
    };
    check("logits", logits, mode + "logits");
    check("loss", loss.reshape({1}), mode + "loss");
    int grads = 0, buffers = 0;
    for (auto& [name, p] : model->named_parameters()) {
        check("grad." + name, p.grad(), mode + "grad." + name);
        ++grads;
    }
    for (auto& [name, b] : model->named_buffers()) {
        const std::string key = train ? "train.buffer." + name : "buffer." + name;
        if (is_floating(b.dtype())) {
            check(name, b, key);  // eval leaves the running statistics untouched
        } else {
            CHECK_MESSAGE(b.to_vector_i64() == ref.tensors.at(key).to_vector_i64(), name);
        }
        ++buffers;
    }
    CHECK(grads > 0);
    CHECK(buffers > 0);
    MESSAGE(file, " [", dtype_name(dt), ", ", mode, "]: ", grads, " gradients and ", buffers,
            " buffers compared; worst relative diff ", worst, " (", worst_name, ")");
    return model;
}

}  // namespace vg::test
