// ModelConfig overrides from text.
#include "models/model_kwargs.h"

#include <cmath>
#include <utility>

namespace vg::models {

namespace {

const std::pair<const char*, int64_t ModelConfig::*> kIntegers[] = {
    {"embed_dim", &ModelConfig::embed_dim},
    {"depth", &ModelConfig::depth},
    {"num_heads", &ModelConfig::num_heads},
    {"patch_size", &ModelConfig::patch_size},
    {"local_up_to_layer", &ModelConfig::local_up_to_layer}};
const std::pair<const char*, double ModelConfig::*> kNumbers[] = {
    {"mlp_ratio", &ModelConfig::mlp_ratio},
    {"spatial_alpha", &ModelConfig::spatial_alpha},
    {"attn_scale", &ModelConfig::attn_scale},
    {"locality_strength", &ModelConfig::locality_strength}};
const std::pair<const char*, bool ModelConfig::*> kFlags[] = {
    {"qkv_bias", &ModelConfig::qkv_bias},
    {"class_token", &ModelConfig::class_token},
    {"input_pe", &ModelConfig::input_pe},
    {"use_local_init", &ModelConfig::use_local_init}};

double number(const std::string& key, const std::string& value) {
    try {
        size_t used = 0;
        double v = std::stod(value, &used);
        if (used == value.size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
    fail("model_kwargs", "'{}' needs a number, got '{}'", key, value);
}

// Whether `value` is `a` (true) or `b` (false).
bool choice(const std::string& key, const std::string& value, const char* a, const char* b) {
    if (value != a && value != b)
        fail("model_kwargs", "'{}' must be {} or {}, got '{}'", key, a, b, value);
    return value == a;
}

void apply_one(ModelConfig& c, const std::string& key, const std::string& value) {
    for (auto [name, field] : kIntegers)
        if (key == name) {
            double v = number(key, value);
            if (v != std::floor(v) || v < 1 || v > 1e9)
                fail("model_kwargs", "'{}' needs a positive integer, got '{}'", key, value);
            c.*field = int64_t(v);
            return;
        }
    for (auto [name, field] : kNumbers)
        if (key == name) return void(c.*field = number(key, value));
    for (auto [name, field] : kFlags)
        if (key == name) {
            if (value == "1" || value == "0") return void(c.*field = value == "1");
            return void(c.*field = choice(key, value, "true", "false"));
        }
    if (key == "pool")
        c.pool = choice(key, value, "token", "avg") ? Pool::Token : Pool::Avg;
    else if (key == "pos_embed")
        c.pos_embed =
            choice(key, value, "learned", "sincos") ? PosEmbed::Learned : PosEmbed::SinCos2d;
    else if (key == "weight_init")
        c.weight_init = choice(key, value, "timm", "skip") ? WeightInit::Timm : WeightInit::Torch;
    else
        fail("model_kwargs",
             "unknown key '{}' (known: embed_dim, depth, num_heads, patch_size, local_up_to_layer, "
             "mlp_ratio, spatial_alpha, attn_scale, locality_strength, qkv_bias, class_token, "
             "input_pe, use_local_init, pool, pos_embed, weight_init)",
             key);
}

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

void apply_model_kwargs(ModelConfig& c, const std::string& kwargs) {
    size_t start = 0;
    while (start <= kwargs.size()) {
        size_t end = std::min(kwargs.find(',', start), kwargs.size());
        std::string item = trim(kwargs.substr(start, end - start));
        if (!item.empty()) {
            size_t eq = item.find('=');
            if (eq == std::string::npos) fail("model_kwargs", "expected key=value, got '{}'", item);
            apply_one(c, trim(item.substr(0, eq)), trim(item.substr(eq + 1)));
        }
        start = end + 1;
    }
}

}  // namespace vg::models
