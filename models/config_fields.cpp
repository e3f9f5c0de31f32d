// ModelConfig fields as text.
#include "models/config_fields.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace vg::models {

namespace {

template <typename T>
std::string text(const T& v) {
    if constexpr (std::is_same_v<T, bool>)
        return v ? "true" : "false";
    else if constexpr (std::is_same_v<T, Arch>)
        return arch_name(v);
    // The enums by the values --model-kwargs takes (models/model_kwargs.cpp).
    else if constexpr (std::is_same_v<T, Pool>)
        return v == Pool::Token ? "token" : "avg";
    else if constexpr (std::is_same_v<T, PosEmbed>)
        return v == PosEmbed::Learned ? "learned" : "sincos";
    else if constexpr (std::is_same_v<T, WeightInit>)
        return v == WeightInit::Timm ? "timm" : "skip";
    else if constexpr (std::is_same_v<T, std::vector<int64_t>>)
        return fmt::format("{}", fmt::join(v, ","));
    else
        return fmt::format("{}", v);
}

}  // namespace

std::string arch_name(Arch a) {
    if (a == Arch::DeiT) return "DeiT";
    if (a == Arch::ConViT) return "ConViT";
    if (a == Arch::Refiner) return "Refiner";
    if (a == Arch::SimpleViT) return "SimpleViT";
    if (a == Arch::FCViT) return "FCViT";
    return fmt::format("arch #{}", int(a));  // an architecture added without a name here
}

std::vector<std::pair<std::string, std::string>> config_fields(const ModelConfig& c) {
    std::vector<std::pair<std::string, std::string>> f;
#define VG_FIELD(name) f.emplace_back(#name, text(c.name))
    VG_FIELD(name);
    VG_FIELD(arch);
    VG_FIELD(img_size);
    VG_FIELD(patch_size);
    VG_FIELD(in_chans);
    VG_FIELD(num_classes);
    VG_FIELD(embed_dim);
    VG_FIELD(depth);
    VG_FIELD(num_heads);
    VG_FIELD(mlp_ratio);
    VG_FIELD(qkv_bias);
    VG_FIELD(local_up_to_layer);
    VG_FIELD(locality_strength);
    VG_FIELD(use_local_init);
    VG_FIELD(distilled);
    VG_FIELD(class_token);
    VG_FIELD(pool);
    VG_FIELD(pos_embed);
    VG_FIELD(weight_init);
    VG_FIELD(spatial_alpha);
    VG_FIELD(input_pe);
    VG_FIELD(attn_scale);
    VG_FIELD(drop_rate);
    VG_FIELD(attn_drop_rate);
    VG_FIELD(drop_path_rate);
    VG_FIELD(ln_eps);
    VG_FIELD(refiner_expand);
    VG_FIELD(refiner_kernel);
    VG_FIELD(refiner_stem);
    VG_FIELD(refiner_adjust_ratio);
    VG_FIELD(refiner_mlp_scale);
    VG_FIELD(fcvit_depths);
    VG_FIELD(fcvit_widths);
    VG_FIELD(fcvit_mlp_ratios);
    VG_FIELD(fcvit_kernel);
    VG_FIELD(fcvit_layer_scale);
#undef VG_FIELD
    return f;
}

}  // namespace vg::models
