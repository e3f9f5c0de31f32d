// `vitgrad analyze mask`: test-time masking (ConViT Tables 5 and 6).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "train/analyze/commands.h"
#include "train/analyze/mask_table.h"
#include "train/data/data_paths.h"
#include "train/probe/map_provider.h"
#include "train/probe/masking.h"
#include "train/run/trainer.h"

namespace vg::analyze {

using Json = nlohmann::ordered_json;

MaskTable mask_table(models::VisionModel& model, std::shared_ptr<const Dataset> test,
                     NormChoice norm, int64_t batch, std::vector<int64_t> ks) {
    if (batch < 1) fail("mask_table", "the batch must be >= 1, got {}", batch);
    const int64_t gated = int64_t(probe::gating_params(model).size());
    if (ks.empty())
        for (int64_t k = 1; k <= gated; ++k) ks.push_back(k);
    for (int64_t k : ks)
        if (k < 1 || k > gated)
            fail("mask_table", "k = {}: the model has {} GPSA layers", k, gated);
    const Device device = probe::model_device(model);
    auto top1 = [&](const probe::MaskSpec& spec) {
        probe::ScopedMask mask(model, spec);
        return evaluate(model, test, norm, batch, device).top1;
    };
    MaskTable t;
    t.plain = top1({});
    t.pos_embed_zeroed = top1({.zero_pos_embed = true});
    for (int64_t k : ks)
        t.rows.push_back({k, top1({.gate = probe::GateMask::Content, .first_layers = k}),
                          top1({.gate = probe::GateMask::Position, .first_layers = k})});
    return t;
}

int mask_command(const AnalyzeOptions& o) {
    if (o.limit_test < 0) fail("analyze mask", "--limit-test must be >= 0, got {}", o.limit_test);
    LoadedModel m = load_model(o.model);
    const TrainConfig run = m.run_config.value_or(TrainConfig{});
    const std::string dataset = o.images.dataset.empty() ? run.dataset : o.images.dataset;
    const std::string dir = o.images.data_dir.empty() ? run.data_dir : o.images.data_dir;
    std::shared_ptr<const Dataset> test =
        load_dataset(dataset, false, resolve_data_root(dir), o.limit_test);
    const MaskTable t = mask_table(*m.model, test, run.augment.norm, o.batch, o.first);

    fmt::print("test-time masking of {} on {} ({} images): top-1 %\n\n", m.label, test->name(),
               test->size());
    fmt::print("position embedding (ConViT Table 5)\n");
    fmt::print("  {:<28} {:>7.2f}\n  {:<28} {:>7.2f}\n\n", "no mask", t.plain,
               "position embedding zeroed", t.pos_embed_zeroed);
    Json rows = Json::array();
    if (t.rows.empty()) {
        fmt::print("no GPSA layers: the gate masks (ConViT Table 6) do not apply\n");
    } else {
        fmt::print("masked in the first k GPSA layers (ConViT Table 6)\n");
        fmt::print("  {:>3}  {:>22}  {:>23}\n", "k", "content masked (σ = 1)",
                   "position masked (σ = 0)");
        fmt::print("  {:>3}  {:>22.2f}  {:>23.2f}\n", 0, t.plain, t.plain);
        for (const MaskRow& r : t.rows) {
            fmt::print("  {:>3}  {:>22.2f}  {:>23.2f}\n", r.k, r.content, r.position);
            rows.push_back(
                {{"k", r.k}, {"content_masked", r.content}, {"position_masked", r.position}});
        }
    }
    write_json_output(o, Json{{"model", m.label},
                              {"test_set", test->name()},
                              {"test_images", test->size()},
                              {"no_mask", t.plain},
                              {"pos_embed_zeroed", t.pos_embed_zeroed},
                              {"first_k", rows}}
                             .dump(1));
    return 0;
}

}  // namespace vg::analyze
