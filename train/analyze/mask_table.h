// Test accuracy under the test-time masks of ConViT's Tables 5 and 6 (train/probe/masking.h).
#pragma once
#include <memory>
#include <vector>

#include "models/model.h"
#include "train/augment/augment.h"
#include "train/data/dataset.h"

namespace vg::analyze {

struct MaskRow {
    int64_t k = 0;        // masked in the first k GPSA layers
    double content = 0;   // top-1 % with sigma(lambda) = 1 there (content masked)
    double position = 0;  // top-1 % with sigma(lambda) = 0 there (position masked)
};

struct MaskTable {
    double plain = 0;             // top-1 % without a mask
    double pos_embed_zeroed = 0;  // top-1 % with the position embedding zeroed (Table 5)
    std::vector<MaskRow> rows;    // Table 6, one row per k
};

// Evaluates `model` on `test` (normalised by `norm`) without a mask, with the position embedding
// zeroed, and with each gate mask in the first k GPSA layers for every k of `ks` (all of
// 1..number of GPSA layers when empty; none for a model without GPSA layers). The model's
// parameters are the same afterwards.
MaskTable mask_table(models::VisionModel& model, std::shared_ptr<const Dataset> test,
                     NormChoice norm, int64_t batch, std::vector<int64_t> ks = {});

}  // namespace vg::analyze
