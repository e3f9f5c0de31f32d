// Checkpoint (de)serialisation on top of core/safetensors: tensors are prefixed by section
// ("model.", "optim.", "ema."), scalars live in __metadata__["vitgrad"] as JSON.
#include "train/run/checkpoint.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "train/data/readable_file.h"

namespace vg {

namespace {

constexpr const char* kFormat = "vitgrad-checkpoint";

void put_section(std::map<std::string, Tensor>& out, const std::string& prefix,
                 const std::map<std::string, Tensor>& in) {
    for (const auto& [k, t] : in) out[prefix + k] = t;
}

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& c) {
    std::map<std::string, Tensor> tensors;
    put_section(tensors, "model.", c.model);
    put_section(tensors, "optim.", c.optim.tensors);
    put_section(tensors, "ema.", c.ema);
    nlohmann::json j = {
        {"format", kFormat},          {"version", kCheckpointVersion},
        {"epoch", c.epoch},           {"step", c.step},
        {"rng_seed", c.rng_seed},     {"rng_offset", c.rng_offset},
        {"optim_kind", c.optim.kind}, {"optim_step", c.optim.step},
        {"data_state", c.data_state}, {"config", c.config},
        {"metrics", c.metrics},       {"model_name", c.model_name},
        {"best_acc", c.best_acc},
    };
    save_safetensors(path, tensors, {{"vitgrad", j.dump()}, {"format", kFormat}});
}

Checkpoint load_checkpoint(const std::string& path) {
    const char* op = "load_checkpoint";
    // A directory would read as an empty file and a FIFO would block: say what the path is.
    std::filesystem::path inside = std::filesystem::path(path) / "checkpoint.safetensors";
    std::string hint =
        unreadable_reason(inside).empty() ? fmt::format("Did you mean {}?", inside.string()) : "";
    require_readable_file(op, path, hint, kMaxCheckpointBytes);
    SafetensorsFile f;
    try {
        f = load_safetensors(path);  // validates the file structure itself
    } catch (const Error& e) {
        fail(op, "cannot read checkpoint {} (damaged or incomplete file?): {}", path, e.what());
    }
    auto it = f.metadata.find("vitgrad");
    if (it == f.metadata.end())
        fail(op,
             "{}: not a vitgrad checkpoint (no 'vitgrad' metadata; a bare weights file can be "
             "loaded with Module::load)",
             path);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(it->second);
    } catch (const std::exception& e) {
        fail(op, "{}: the checkpoint metadata is not valid JSON ({})", path, e.what());
    }
    Checkpoint c;
    try {
        if (j.at("format").get<std::string>() != kFormat)
            fail(op, "{}: unknown format '{}'", path, j.at("format").get<std::string>());
        int version = j.at("version").get<int>();
        if (version != kCheckpointVersion)
            fail(op, "{}: checkpoint version {} is not supported (this build reads version {})",
                 path, version, kCheckpointVersion);
        c.epoch = j.at("epoch").get<int64_t>();
        c.step = j.at("step").get<int64_t>();
        c.rng_seed = j.at("rng_seed").get<uint64_t>();
        c.rng_offset = j.at("rng_offset").get<uint64_t>();
        c.optim.kind = j.at("optim_kind").get<std::string>();
        c.optim.step = j.at("optim_step").get<int64_t>();
        c.data_state = j.at("data_state").get<std::string>();
        c.config = j.at("config").get<std::string>();
        c.metrics = j.at("metrics").get<std::string>();
        c.model_name = j.at("model_name").get<std::string>();
        c.best_acc = j.at("best_acc").get<double>();
    } catch (const nlohmann::json::exception& e) {
        fail(op, "{}: missing or malformed metadata field ({})", path, e.what());
    }
    for (auto& [key, t] : f.tensors) {
        auto take = [&](const char* prefix, std::map<std::string, Tensor>& dst) {
            size_t n = std::char_traits<char>::length(prefix);
            if (key.compare(0, n, prefix) != 0) return false;
            dst[key.substr(n)] = t;
            return true;
        };
        if (!take("model.", c.model) && !take("optim.", c.optim.tensors) && !take("ema.", c.ema))
            fail(op, "{}: unexpected tensor '{}' (expected a model., optim. or ema. prefix)", path,
                 key);
    }
    if (c.model.empty()) fail(op, "{}: the checkpoint holds no model weights", path);
    return c;
}

}  // namespace vg
