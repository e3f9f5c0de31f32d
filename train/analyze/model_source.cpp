// Loading the model and the images an analysis runs on.
#include "train/analyze/model_source.h"

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/random.h"
#include "core/safetensors.h"
#include "models/fcvit.h"
#include "models/registry.h"
#include "nn/internals.h"
#include "train/data/data_paths.h"
#include "train/data/readable_file.h"
#include "train/init/attn_init.h"
#include "train/run/checkpoint.h"
#include "train/run/cli_options.h"
#include "train/run/loader.h"

namespace vg::analyze {

RunConfig read_run_config(const std::string& text, const std::string& source) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
        fail("analyze", "{}: invalid JSON ({})", source, e.what());
    }
    if (!j.is_object()) fail("analyze", "{}: expected a JSON object of knobs", source);
    RunConfig out;
    for (auto& [k, v] : j.items()) {
        try {
            set_knob(out.config, k, v.is_string() ? v.get<std::string>() : v.dump());
        } catch (const Error& e) {
            out.ignored.push_back(e.what());
        }
    }
    return out;
}

namespace {

// Tokens before the patches in a model's position table: the class (and distillation) token
// where the table covers them.
int64_t pos_table_prefix(const models::ModelConfig& mc) {
    switch (mc.arch) {
        case models::Arch::ConViT:
        case models::Arch::SimpleViT:
        case models::Arch::FCViT:  // no position table at all
            return 0;
        case models::Arch::Refiner:
            return 1;
        case models::Arch::DeiT:
            if (mc.pos_embed != models::PosEmbed::Learned) return 0;
            return int64_t(mc.class_token) + int64_t(mc.distilled);
    }
    return 0;
}

}  // namespace

models::ModelConfig config_for_weights(models::ModelConfig mc, const nn::StateDict& state) {
    if (auto it = state.find("head.weight"); it != state.end()) mc.num_classes = it->second.size(0);
    if (auto it = state.find("patch_embed.proj.weight"); it != state.end()) {
        const Tensor& w = it->second;  // [D, C, p, p]; FCViT's stem: [C1, C, 7, 7] at any stride
        const int64_t kernel =
            mc.arch == models::Arch::FCViT ? models::kFCViTStemKernel : mc.patch_size;
        if (w.dim() != 4 || w.size(2) != kernel)
            fail("config_for_weights", "patch_embed.proj.weight {} does not fit '{}' (patch {})",
                 w.desc(), mc.name, mc.patch_size);
        mc.in_chans = w.size(1);
    }
    for (const char* table : {"pos_embed", "pos_embedding"})
        if (auto it = state.find(table); it != state.end()) {
            const int64_t n =
                it->second.dim() == 3 ? it->second.size(1) - pos_table_prefix(mc) : -1;
            mc.img_size = nn::grid_side(n, "config_for_weights") * mc.patch_size;
        }
    return mc;
}

LoadedModel load_model(const ModelSource& src) {
    const int given =
        int(!src.run_dir.empty()) + int(!src.checkpoint.empty()) + int(!src.model.empty());
    if (!src.weights.empty() && src.model.empty())
        fail("analyze", "--weights needs --model (the registry name the weights belong to)");
    if (given != 1) fail("analyze", "give exactly one of RUN_DIR / --run, --checkpoint or --model");
    LoadedModel out;
    std::string ckpt = src.checkpoint;
    if (!src.run_dir.empty())
        ckpt = (std::filesystem::path(src.run_dir) / "checkpoint.safetensors").string();
    nn::StateDict state;
    std::string name = src.model;
    if (!ckpt.empty()) {
        Checkpoint c = load_checkpoint(ckpt);
        if (src.ema && c.ema.empty()) fail("analyze", "{} holds no EMA weights", ckpt);
        state = src.ema ? c.ema : c.model;
        if (name.empty()) name = c.model_name;
        out.run_config = read_run_config(c.config, ckpt + " (saved config)").config;
        out.label = fmt::format("{}, {}{} (epoch {})", name, ckpt, src.ema ? " EMA" : "", c.epoch);
    } else if (!src.weights.empty()) {
        require_readable_file("analyze", src.weights, "", kMaxCheckpointBytes);
        state = load_safetensors(src.weights).tensors;
        out.label = fmt::format("{}, {}", name, src.weights);
    } else {
        out.label = fmt::format("{}, freshly initialised (seed {})", name, src.seed);
    }
    // The architecture as the run built it: the registry entry, its model kwargs and the
    // attention scale its structured init implies (train/init/attn_init.h).
    const TrainConfig built = out.run_config.value_or(TrainConfig{});
    const std::string kwargs = src.model_kwargs.empty() ? built.model_kwargs : src.model_kwargs;
    const std::string attn_init = src.attn_init.empty() ? built.attn_init : src.attn_init;
    manual_seed(src.seed);
    out.model =
        models::create_model(config_for_weights(run_model_config(name, kwargs, attn_init), state));
    if (state.empty() && !src.attn_init.empty()) {
        const AttnInitReport init = apply_attn_init(*out.model, parse_attn_init(src.attn_init),
                                                    default_generator(), src.attn_init_cache);
        out.label += fmt::format(", {}", init.spec.text);
    }
    if (!state.empty()) out.model->load_state_dict(state);
    out.model->eval();
    out.model->to(Device::parse(src.device));
    return out;
}

Tensor read_images_file(const std::string& path) {
    require_readable_file("images", path, "", kMaxCheckpointBytes);
    SafetensorsFile f = load_safetensors(path);
    auto it = f.tensors.find("images");
    if (it == f.tensors.end())
        fail("images", "{} has no tensor named \"images\" ([B, C, H, W], normalised)", path);
    Tensor images = it->second.to(DType::F32);
    if (images.dim() != 4 || images.size(0) < 1)
        fail("images", "{}: images must be [B, C, H, W] with B >= 1, got {}", path, images.desc());
    return images;
}

Images load_images(const ImageSource& src, const LoadedModel& m, int64_t default_count) {
    const int64_t count = src.count > 0 ? src.count : default_count;
    if (count < 1) fail("analyze", "the image count must be >= 1, got {}", count);
    Images out;
    const models::ModelConfig& mc = m.model->config();
    if (!src.input.empty()) {
        Tensor all = read_images_file(src.input);
        const int64_t n = std::min(count, all.size(0));
        out.images = all.narrow(0, 0, n).contiguous();
        out.description = fmt::format("{} images of {}", n, src.input);
    } else {
        TrainConfig run = m.run_config.value_or(TrainConfig{});
        const std::string dataset = src.dataset.empty() ? run.dataset : src.dataset;
        const std::string dir = src.data_dir.empty() ? run.data_dir : src.data_dir;
        auto ds = load_dataset(dataset, false, resolve_data_root(dir), count);
        const int64_t n = std::min(count, ds->size());
        out.images = eval_images(*ds, n, select_stats(run.augment, ds->stats()));
        out.description = n == 1 ? fmt::format("the first {} test image", dataset)
                                 : fmt::format("the first {} {} test images", n, dataset);
    }
    const Tensor& x = out.images;
    if (x.size(1) != mc.in_chans || x.size(2) != mc.img_size || x.size(3) != mc.img_size)
        fail("analyze", "{}: shape {}, but '{}' takes [B, {}, {}, {}]", out.description,
             x.shape().str(), mc.name, mc.in_chans, mc.img_size, mc.img_size);
    return out;
}

void add_model_options(CLI::App* c, ModelSource& s) {
    c->add_option("--run", s.run_dir, "a run directory (its checkpoint.safetensors)");
    c->add_option("--checkpoint", s.checkpoint, "a `vitgrad train` checkpoint");
    add_checked_option(c, "--model", s.model,
                       "registry model: alone a freshly initialised one, or with --weights",
                       one_of(models::model_names), "analyze");
    c->add_option("--weights", s.weights, "a safetensors state dict (timm names) for --model");
    c->add_flag("--ema", s.ema, "use the checkpoint's EMA weights");
    add_checked_option(c, "--seed", s.seed, "initialisation seed of a fresh --model",
                       closed<uint64_t>(0, UINT64_MAX), "analyze");
    add_checked_option(c, "--model-kwargs", s.model_kwargs,
                       "model overrides (default: the checkpoint's)", model_kwargs_text(),
                       "analyze");
    add_checked_option(c, "--attn-init", s.attn_init,
                       "structured attention init of a fresh --model (the state it starts from)",
                       attn_init_text(), "analyze");
    add_checked_option(c, "--attn-init-cache", s.attn_init_cache,
                       "cache of the impulse Adam solves", any_text("a directory"), "analyze");
    add_checked_option(c, "--device", s.device, "where to run", device_names(), "analyze");
}

void add_image_options(CLI::App* c, ImageSource& s, const std::string& count_help) {
    c->add_option("--input", s.input,
                  "safetensors file holding \"images\" [B, C, H, W], already normalised");
    add_dataset_options(c, s);
    add_checked_option(c, "--count", s.count, count_help, closed<int64_t>(0, 100000), "analyze");
}

void add_dataset_options(CLI::App* c, ImageSource& s) {
    add_checked_option(c, "--dataset", s.dataset, "test set (empty: the run's, else cifar10)",
                       one_of({"cifar10", "cifar100", "fashion_mnist"}), "analyze");
    c->add_option("--data-dir", s.data_dir,
                  "data root (default: the run's, $VITGRAD_DATA, ../shared/data)");
}

}  // namespace vg::analyze
