// FCViT against the PyTorch dump of tests/reference/make_fcvit_reference.py (an independent
// implementation that follows ma-xu/FCViT models/fcvit.py and uses its parameter names), in
// training mode (BatchNorm with batch statistics, running statistics updated) and eval mode:
// logits, loss, every parameter gradient and the buffers in float64 (1e-10 relative) and float32
// (1e-4), loaded strictly; in eval mode also every global context's standardised similarity.
#include <sstream>
#include <string>

#include "tests/models/reference_helpers.h"

using namespace vg;
using namespace vg::models;
using namespace vg::test;

namespace {

std::vector<int64_t> integers(const std::string& text) {
    std::vector<int64_t> out;
    std::stringstream ss(text);
    for (std::string w; std::getline(ss, w, ',');) out.push_back(std::stoll(w));
    return out;
}

// The dump's configuration: FCViT fields from the metadata on top of a registry FCViT entry.
ModelConfig fcvit_config(const SafetensorsFile& ref) {
    const auto& m = ref.metadata;
    REQUIRE(m.at("arch") == "fcvit");
    ModelConfig c = model_config("fcvit_cifar_micro");
    c.name = "fcvit_ref";
    c.img_size = std::stoll(m.at("img_size"));
    c.patch_size = std::stoll(m.at("patch_size"));
    c.num_classes = std::stoll(m.at("num_classes"));
    c.num_heads = std::stoll(m.at("num_heads"));
    c.fcvit_depths = integers(m.at("fcvit_depths"));
    c.fcvit_widths = integers(m.at("fcvit_widths"));
    c.fcvit_mlp_ratios = integers(m.at("fcvit_mlp_ratios"));
    c.fcvit_kernel = std::stoll(m.at("fcvit_kernel"));
    c.embed_dim = c.fcvit_widths.back();
    c.depth = 0;
    for (int64_t d : c.fcvit_depths) c.depth += d;
    return c;
}

}  // namespace

TEST_CASE("reference: FCViT matches PyTorch (train and eval, float64 and float32)") {
    SafetensorsFile ref =
        load_safetensors(std::string(VG_TEST_DATA_DIR) + "/fcvit_ref.safetensors");
    const ModelConfig cfg = fcvit_config(ref);
    CHECK(count_parameters(cfg) == 18942);  // the dump's model (make_fcvit_reference.py)
    for (auto [dt, tol] : {std::pair{DType::F64, 1e-10}, std::pair{DType::F32, 1e-4}})
        for (bool train : {true, false}) {
            ModelInternals in;
            auto model = compare_reference_mode("fcvit_ref", ref, cfg, dt, train, tol, &in);
            CHECK(model->num_parameters() == 18942);
            REQUIRE(in.contexts.size() == 8);  // two per block, four blocks
            if (train) continue;
            for (size_t i = 0; i < in.contexts.size(); ++i) {
                INFO("similarity ", i, " [", dtype_name(dt), "]");
                const Tensor& want = ref.tensors.at("eval.similarity." + std::to_string(i));
                REQUIRE(in.contexts[i].similarity.shape() == want.shape());
                CHECK(compare(in.contexts[i].similarity, want).rel <= tol);
            }
        }
}
