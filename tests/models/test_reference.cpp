// Tiny ConViT / DeiT against the PyTorch dumps in tests/reference (make_reference.py): logits, loss
// and every parameter gradient, in float64 (1e-10 relative; 1e-9 on CUDA) and float32 (1e-4), on
// the CPU and (where a device is present) on CUDA.
#include <algorithm>
#include <cmath>
#include <string>

#include "core/safetensors.h"
#include "models/registry.h"
#include "tests/models/reference_helpers.h"

using namespace vg;
using namespace vg::models;
using namespace vg::test;

namespace {

void run_reference(const std::string& file, DType dt, double tol, Device device = Device::cpu()) {
    std::string path = std::string(VG_TEST_DATA_DIR) + "/" + file + ".safetensors";
    SafetensorsFile ref = load_safetensors(path);
    ModelConfig cfg = config_from_metadata(ref.metadata, file);
    auto model = create_model(cfg);
    model->to(dt);
    model->to(device);
    model->eval();

    nn::StateDict sd;
    int64_t params = 0;
    for (auto& [name, t] : ref.tensors) {
        if (name.rfind("param.", 0) == 0) sd[name.substr(6)] = t.to(dt).to(device), ++params;
        if (name.rfind("buffer.", 0) == 0) {
            // Fixed tables the model builds itself (sin-cos PE): equal to the reference's.
            nn::StateDict own = model->state_dict();
            REQUIRE_MESSAGE(own.count(name.substr(7)), file, ": model has no buffer ", name);
            Diff d = compare(own.at(name.substr(7)), t);
            MESSAGE(file, " ", name, ": max |diff| ", d.abs);
            CHECK(d.abs <= 1e-6);
            sd[name.substr(7)] = t.to(dt).to(device);
        }
    }
    model->load_state_dict(sd, true);

    Tensor x = ref.tensors.at("input").to(dt).to(device);
    Tensor logits = model->forward(x);
    REQUIRE(logits.device() == device);
    Tensor loss = cross_entropy(logits, ref.tensors.at("labels").to(device));
    loss.backward();

    double worst = 0;
    std::string worst_name;
    auto check = [&](const std::string& what, const Tensor& got, const Tensor& want) {
        REQUIRE_MESSAGE(got.defined(), what, " has no gradient");
        CHECK_MESSAGE(got.shape() == want.shape(), what, ": ", got.shape(), " vs ", want.shape());
        Diff d = compare(got, want);
        MESSAGE(file, " [", dtype_name(dt), ", ", device.str(), "] ", what, ": max |diff| ", d.abs,
                ", relative ", d.rel);
        CHECK_MESSAGE(d.rel <= tol, file, " [", dtype_name(dt), ", ", device.str(), "] ", what,
                      " relative diff ", d.rel);
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
    MESSAGE(file, " [", dtype_name(dt), ", ", device.str(), "]: ", grads,
            " gradients compared; worst relative diff ", worst, " (", worst_name, ")");
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

// The same dumps on CUDA. Float64 gets 1e-9: cuBLAS and CUDA's libm round differently from the
// CPU's in the last bits, and summation orders differ.
TEST_CASE("cuda reference: tiny ConViT, DeiT and distilled DeiT match PyTorch (float64)") {
    VG_REQUIRE_CUDA();
    for (const char* file : {"convit_ref", "deit_ref", "deit_distilled_ref"})
        run_reference(file, DType::F64, 1e-9, Device::cuda());
}
TEST_CASE("cuda reference: tiny ConViT, DeiT and distilled DeiT match PyTorch (float32)") {
    VG_REQUIRE_CUDA();
    for (const char* file : {"convit_ref", "deit_ref", "deit_distilled_ref"})
        run_reference(file, DType::F32, 1e-4, Device::cuda());
}
