// Refiner (paper mode in DeiT and ConViT, and the released Refiner-ViT) against the PyTorch dumps
// of tests/reference/make_refiner_reference.py, in training mode (BatchNorm with batch statistics,
// running statistics updated) and in eval mode: logits, loss, every parameter gradient and the
// updated buffers, in float64 (1e-10 relative) and float32 (1e-4). Loading is strict, so every
// released parameter and buffer name must match.
#include <string>

#include "core/safetensors.h"
#include "tests/models/reference_helpers.h"

using namespace vg;
using namespace vg::models;
using namespace vg::test;

namespace {

// Training and eval mode, float64 (1e-10 relative) and float32 (1e-4).
void run_reference(const std::string& file) {
    SafetensorsFile ref =
        load_safetensors(std::string(VG_TEST_DATA_DIR) + "/" + file + ".safetensors");
    for (auto [dt, tol] : {std::pair{DType::F64, 1e-10}, std::pair{DType::F32, 1e-4}})
        for (bool train : {true, false})
            compare_reference_mode(file, ref, config_from_metadata(ref.metadata, file), dt, train,
                                   tol);
}

}  // namespace

TEST_CASE("reference: DeiT with refined attention maps matches PyTorch") {
    run_reference("refiner_deit_ref");
}
TEST_CASE("reference: ConViT with refined MHSA maps matches PyTorch") {
    run_reference("refiner_convit_ref");
}
TEST_CASE("reference: released Refiner-ViT matches PyTorch") { run_reference("refiner_vit_ref"); }
