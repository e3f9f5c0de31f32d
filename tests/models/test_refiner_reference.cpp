// Refiner (paper mode in DeiT and ConViT, and the released Refiner-ViT) against the PyTorch dumps
// of tests/reference/make_refiner_reference.py, in training mode (BatchNorm with batch statistics,
// running statistics updated) and in eval mode: logits, loss, every parameter gradient and the
// updated buffers, in float64 (1e-10 relative) and float32 (1e-4). Loading is strict, so every
// released parameter and buffer name must match.
#include <string>

#include "core/safetensors.h"
#include "models/registry.h"
#include "tests/models/reference_helpers.h"

using namespace vg;
using namespace vg::models;
using namespace vg::test;

namespace {

void run_mode(const std::string& file, const SafetensorsFile& ref, DType dt, bool train,
              double tol) {
    const std::string mode = train ? "train." : "eval.";
    INFO(file, " [", dtype_name(dt), ", ", mode, "]");
    auto model = create_model(config_from_metadata(ref.metadata, file));
    model->to(dt);
    nn::StateDict sd;
    for (auto& [name, t] : ref.tensors) {
        if (name.rfind("param.", 0) == 0) sd[name.substr(6)] = t.to(dt);
        if (name.rfind("buffer.", 0) == 0)
            sd[name.substr(7)] = is_floating(t.dtype()) ? t.to(dt) : t;
    }
    model->load_state_dict(sd, /*strict=*/true);
    model->train(train);

    Tensor logits = model->forward(ref.tensors.at("input").to(dt));
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
}

// Training and eval mode, float64 (1e-10 relative) and float32 (1e-4).
void run_reference(const std::string& file) {
    SafetensorsFile ref =
        load_safetensors(std::string(VG_TEST_DATA_DIR) + "/" + file + ".safetensors");
    for (auto [dt, tol] : {std::pair{DType::F64, 1e-10}, std::pair{DType::F32, 1e-4}})
        for (bool train : {true, false}) run_mode(file, ref, dt, train, tol);
}

}  // namespace

TEST_CASE("reference: DeiT with refined attention maps matches PyTorch") {
    run_reference("refiner_deit_ref");
}
TEST_CASE("reference: ConViT with refined MHSA maps matches PyTorch") {
    run_reference("refiner_convit_ref");
}
TEST_CASE("reference: released Refiner-ViT matches PyTorch") { run_reference("refiner_vit_ref"); }
