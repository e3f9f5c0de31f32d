// `vitgrad inspect`: the internals-study entry point. The output file is safetensors, which
// NumPy (safetensors.numpy.load_file) and PyTorch (safetensors.torch.load_file) read directly.
#include "train/cli/inspect.h"

#include <fmt/core.h>

#include <map>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/random.h"
#include "core/safetensors.h"
#include "models/registry.h"
#include "train/analyze/model_source.h"
#include "train/augment/augment.h"
#include "train/data/data_paths.h"
#include "train/data/readable_file.h"
#include "train/init/attn_init.h"
#include "train/run/checkpoint.h"
#include "train/run/cli_options.h"
#include "train/run/config.h"

namespace vg {

CLI::App* add_inspect_command(CLI::App& app, InspectOptions& o) {
    CLI::App* c = app.add_subcommand(
        "inspect",
        "write a batch's logits and every layer's attention maps, GPSA gates and Refiner's refined "
        "maps (FCViT: every global context's similarity maps and context vectors)");
    c->add_option("--model", o.model, "registry model name (default: the checkpoint's)");
    c->add_option("--checkpoint", o.checkpoint, "a `vitgrad train` checkpoint");
    c->add_option("--weights", o.weights, "or a safetensors state dict with timm parameter names");
    c->add_flag("--ema", o.use_ema, "use the checkpoint's EMA weights");
    c->add_option("--input", o.input,
                  "safetensors file holding \"images\" [B, C, H, W], already normalised");
    add_checked_option(c, "--dataset", o.dataset,
                       "without --input: take the first --count test images",
                       one_of({"cifar10", "cifar100", "fashion_mnist"}), "inspect");
    c->add_option("--data-dir", o.data_dir, "data root (default: $VITGRAD_DATA, ../shared/data)");
    add_checked_option(c, "--count", o.count, "images taken from the dataset",
                       closed<int64_t>(1, 10000), "inspect");
    c->add_option("--output", o.output, "output safetensors file")->capture_default_str();
    add_checked_option(c, "--device", o.device, "where to run", device_names(), "inspect");
    c->add_flag("--logits-only", o.logits_only,
                "write images and logits only, running the batch in chunks of 256 (e.g. a whole "
                "test set)");
    add_checked_option(c, "--model-kwargs", o.model_kwargs,
                       "model overrides (default: the checkpoint's)", model_kwargs_text(),
                       "inspect");
    add_checked_option(c, "--attn-init", o.attn_init,
                       "apply this structured init to the fresh model (with weights: re-run it "
                       "for its targets) and report each head's fit to its target tap",
                       attn_init_text(), "inspect");
    add_checked_option(c, "--attn-init-cache", o.attn_init_cache,
                       "cache of the impulse Adam solves", any_text("a directory"), "inspect");
    add_checked_option(c, "--seed", o.seed, "seed of the model's initialisation",
                       closed<uint64_t>(0, UINT64_MAX), "inspect");
    return c;
}

namespace {

// The first `count` test images of a dataset, normalised with the dataset's statistics.
Tensor dataset_images(const InspectOptions& o, int64_t& num_classes) {
    auto ds = load_dataset(o.dataset, false, resolve_data_root(o.data_dir), o.count);
    num_classes = ds->num_classes();
    ImageShape s = ds->image_shape();
    int64_t n = std::min<int64_t>(o.count, ds->size());
    Tensor images = Tensor::empty({n, s.c, s.h, s.w});
    NormStats stats = select_stats(AugmentConfig{}, ds->stats());
    for (int64_t i = 0; i < n; ++i)
        normalize(ds->get(i).image, stats, images.data<float>() + i * s.c * s.h * s.w);
    return images;
}

// Prints each block's and head's fit to the init's target tap: on the pseudo-input the init fitted,
// and on the batch (patch tokens only). Returns the pseudo-input maps for the output file.
std::vector<Tensor> report_target_fit(const models::VisionModel& model, const AttnInitReport& rep,
                                      const models::ModelInternals& internals) {
    std::vector<Tensor> pseudo = pseudo_input_maps(model, rep);
    fmt::print("attn-init {}\n", rep.summary());
    if (rep.targets.empty()) {
        fmt::print("(no target taps: {} has none)\n", rep.spec.text);
        return pseudo;
    }
    fmt::print(
        "per head: target tap (dy, dx); mean attention mass on it and mean distance (patches) "
        "from the row's attention centre to it\n");
    fmt::print("{:>5} {:>4} {:>9} | {:>12} {:>8} | {:>12} {:>8}\n", "block", "head", "target",
               "pseudo mass", "dist", "batch mass", "dist");
    for (size_t i = 0; i < rep.targets.size() && i < internals.blocks.size(); ++i) {
        Tensor a = internals.blocks[i].attn;
        const int64_t N = pseudo[i].size(1), prefix = a.size(-1) - N;
        Tensor batch = a.narrow(2, prefix, N).narrow(3, prefix, N);
        nn::sinit::TargetFit fp = nn::sinit::target_fit(pseudo[i], rep.targets[i]);
        nn::sinit::TargetFit fb = nn::sinit::target_fit(batch, rep.targets[i]);
        for (size_t h = 0; h < rep.targets[i].size(); ++h)
            fmt::print("{:>5} {:>4} {:>9} | {:>12.4f} {:>8.3f} | {:>12.4f} {:>8.3f}\n", i, h,
                       fmt::format("({:+d}, {:+d})", rep.targets[i][h].dy, rep.targets[i][h].dx),
                       fp.mass[h], fp.distance[h], fb.mass[h], fb.distance[h]);
    }
    return pseudo;
}

}  // namespace

int inspect_main(const InspectOptions& o) {
    if (!o.checkpoint.empty() && !o.weights.empty())
        fail("inspect", "give either --checkpoint or --weights, not both");
    std::map<std::string, Tensor> state;
    std::string name = o.model;
    TrainConfig saved;  // the checkpoint's recipe: model_kwargs and attn_init shape the model
    if (!o.checkpoint.empty()) {
        Checkpoint c = load_checkpoint(o.checkpoint);
        if (o.use_ema && c.ema.empty()) fail("inspect", "{} holds no EMA weights", o.checkpoint);
        state = o.use_ema ? c.ema : c.model;
        if (name.empty()) name = c.model_name;
        apply_config_text(saved, c.config, o.checkpoint + " (saved config)");
    } else if (!o.weights.empty()) {
        require_readable_file("inspect", o.weights, "", kMaxCheckpointBytes);
        state = load_safetensors(o.weights).tensors;
    }
    if (name.empty()) fail("inspect", "--model is required without --checkpoint");

    int64_t num_classes = 0;
    Tensor images;
    if (!o.input.empty()) {
        images = analyze::read_images_file(o.input);
    } else {
        images = dataset_images(o, num_classes);
    }
    if (images.dim() != 4) fail("inspect", "images must be [B, C, H, W], got {}", images.desc());

    const std::string attn_init = o.attn_init.empty() ? saved.attn_init : o.attn_init;
    models::ModelConfig mc = run_model_config(
        name, o.model_kwargs.empty() ? saved.model_kwargs : o.model_kwargs, attn_init);
    if (num_classes > 0) mc.num_classes = num_classes;
    if (!state.empty()) {
        auto head = state.find("head.weight");
        if (head != state.end()) mc.num_classes = head->second.size(0);
    }
    mc.in_chans = images.size(1);
    mc.img_size = images.size(2);
    manual_seed(o.seed);
    auto model = models::create_model(mc);
    AttnInitReport init;
    if (!o.attn_init.empty())
        init = apply_attn_init(*model, parse_attn_init(o.attn_init), default_generator(),
                               o.attn_init_cache);
    if (!state.empty()) model->load_state_dict(state);
    model->eval();
    Device device = Device::parse(o.device);
    model->to(device);

    NoGradGuard no_grad;
    models::ModelInternals internals;
    Tensor logits;
    if (o.logits_only) {
        std::vector<Tensor> parts;
        for (int64_t i = 0; i < images.size(0); i += 256)
            parts.push_back(
                model
                    ->forward(
                        images.narrow(0, i, std::min<int64_t>(256, images.size(0) - i)).to(device))
                    .cpu());
        logits = cat(parts, 0);
    } else {
        logits = model->forward(images.to(device), &internals);
    }

    std::map<std::string, Tensor> out{{"images", images}, {"logits", logits}};
    for (size_t i = 0; i < internals.blocks.size(); ++i) {
        const nn::AttentionInternals& a = internals.blocks[i];
        std::string p = fmt::format("blocks.{}.", i);
        out[p + "attn"] = a.attn;
        if (a.refined.defined()) out[p + "refined"] = a.refined;  // Refiner: beside the raw maps
        if (a.gate.defined()) {
            out[p + "gate"] = a.gate;
            out[p + "content"] = a.content;
            out[p + "positional"] = a.positional;
        }
    }
    // FCViT: what each global context offers instead of attention, in forward order (block by
    // block, gc1 then gc2): the standardised similarity [B, G, H, W] and the context [B, C].
    for (size_t i = 0; i < internals.contexts.size(); ++i) {
        out[fmt::format("contexts.{}.similarity", i)] = internals.contexts[i].similarity;
        out[fmt::format("contexts.{}.context", i)] = internals.contexts[i].context;
    }
    if (!o.attn_init.empty()) {
        std::vector<Tensor> pseudo = report_target_fit(*model, init, internals);
        for (size_t i = 0; i < pseudo.size(); ++i)
            if (pseudo[i].defined()) out[fmt::format("blocks.{}.pseudo_attn", i)] = pseudo[i];
    }
    save_safetensors(o.output, out, {{"model", name}, {"format", "vitgrad inspect 1"}});
    if (internals.contexts.empty())
        fmt::print("wrote {}: logits {} and the internals of {} blocks (model {})\n", o.output,
                   logits.shape().str(), internals.blocks.size(), name);
    else
        fmt::print("wrote {}: logits {} and the internals of {} global contexts (model {})\n",
                   o.output, logits.shape().str(), internals.contexts.size(), name);
    return 0;
}

}  // namespace vg
