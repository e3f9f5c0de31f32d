// `vitgrad inspect`: the internals-study entry point. The output file is safetensors, which
// NumPy (safetensors.numpy.load_file) and PyTorch (safetensors.torch.load_file) read directly.
#include "train/cli/inspect.h"

#include <fmt/core.h>

#include <map>

#include "autograd/grad_mode.h"
#include "core/safetensors.h"
#include "models/registry.h"
#include "train/augment/augment.h"
#include "train/data/data_paths.h"
#include "train/run/checkpoint.h"
#include "train/run/cli_options.h"

namespace vg {

CLI::App* add_inspect_command(CLI::App& app, InspectOptions& o) {
    CLI::App* c = app.add_subcommand(
        "inspect", "write a batch's logits and every layer's attention maps and GPSA gates");
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

}  // namespace

int inspect_main(const InspectOptions& o) {
    if (!o.checkpoint.empty() && !o.weights.empty())
        fail("inspect", "give either --checkpoint or --weights, not both");
    std::map<std::string, Tensor> state;
    std::string name = o.model;
    if (!o.checkpoint.empty()) {
        Checkpoint c = load_checkpoint(o.checkpoint);
        if (o.use_ema && c.ema.empty()) fail("inspect", "{} holds no EMA weights", o.checkpoint);
        state = o.use_ema ? c.ema : c.model;
        if (name.empty()) name = c.model_name;
    } else if (!o.weights.empty()) {
        state = load_safetensors(o.weights).tensors;
    }
    if (name.empty()) fail("inspect", "--model is required without --checkpoint");

    int64_t num_classes = 0;
    Tensor images;
    if (!o.input.empty()) {
        SafetensorsFile in = load_safetensors(o.input);
        auto it = in.tensors.find("images");
        if (it == in.tensors.end())
            fail("inspect", "{} has no tensor named \"images\" ([B, C, H, W], normalised)",
                 o.input);
        images = it->second.to(DType::F32);
    } else {
        images = dataset_images(o, num_classes);
    }
    if (images.dim() != 4) fail("inspect", "images must be [B, C, H, W], got {}", images.desc());

    models::ModelConfig mc = models::model_config(name);
    if (num_classes > 0) mc.num_classes = num_classes;
    if (!state.empty()) {
        auto head = state.find("head.weight");
        if (head != state.end()) mc.num_classes = head->second.size(0);
    }
    mc.in_chans = images.size(1);
    mc.img_size = images.size(2);
    auto model = models::create_model(mc);
    if (!state.empty()) model->load_state_dict(state);
    model->eval();
    Device device = Device::parse(o.device);
    model->to(device);

    NoGradGuard no_grad;
    models::ModelInternals internals;
    Tensor logits = model->forward(images.to(device), &internals);

    std::map<std::string, Tensor> out{{"images", images}, {"logits", logits}};
    for (size_t i = 0; i < internals.blocks.size(); ++i) {
        const nn::AttentionInternals& a = internals.blocks[i];
        std::string p = fmt::format("blocks.{}.", i);
        out[p + "attn"] = a.attn;
        if (a.gate.defined()) {
            out[p + "gate"] = a.gate;
            out[p + "content"] = a.content;
            out[p + "positional"] = a.positional;
        }
    }
    save_safetensors(o.output, out, {{"model", name}, {"format", "vitgrad inspect 1"}});
    fmt::print("wrote {}: logits {} and the internals of {} blocks (model {})\n", o.output,
               logits.shape().str(), internals.blocks.size(), name);
    return 0;
}

}  // namespace vg
