// The table of named configurations (ConViT Table 1, d'Ascoli et al. 2021; DeiT Table 1, Touvron et
// al. 2021; their CIFAR sizes in docs/models.md) and the dry parameter / FLOP counts.
#include "models/registry.h"

#include <fmt/ranges.h>

#include "models/convit.h"
#include "models/deit.h"

namespace vg::models {

namespace {

// The fields every entry sets; the helpers below add what their architecture needs.
ModelConfig base(const char* name, Arch arch, int64_t img, int64_t patch, int64_t classes,
                 int64_t D, int64_t H, int64_t L, bool qkv_bias) {
    ModelConfig c;
    c.name = name;
    c.arch = arch;
    c.img_size = img;
    c.patch_size = patch;
    c.num_classes = classes;
    c.embed_dim = D;
    c.num_heads = H;
    c.depth = L;
    c.qkv_bias = qkv_bias;
    return c;
}

ModelConfig convit(const char* name, int64_t img, int64_t patch, int64_t classes, int64_t D,
                   int64_t H, int64_t L = 12, int64_t L_loc = 10) {
    ModelConfig c = base(name, Arch::ConViT, img, patch, classes, D, H, L, false);
    c.local_up_to_layer = L_loc;
    return c;
}

ModelConfig deit(const char* name, int64_t img, int64_t patch, int64_t classes, int64_t D,
                 int64_t H, int64_t L = 12, bool distilled = false) {
    ModelConfig c = base(name, Arch::DeiT, img, patch, classes, D, H, L, true);
    c.distilled = distilled;
    return c;
}

const std::vector<ModelConfig>& table() {
    static const std::vector<ModelConfig> t = {
        // ImageNet 224/16, K = 1000 (ConViT Table 1). ConViT: 48 per head, "+" models 64 per head.
        convit("convit_tiny", 224, 16, 1000, 192, 4),
        convit("convit_tiny_plus", 224, 16, 1000, 256, 4),
        convit("convit_small", 224, 16, 1000, 432, 9),
        convit("convit_small_plus", 224, 16, 1000, 576, 9),
        convit("convit_base", 224, 16, 1000, 768, 16),
        convit("convit_base_plus", 224, 16, 1000, 1024, 16),
        deit("deit_tiny_patch16_224", 224, 16, 1000, 192, 3),
        deit("deit_small_patch16_224", 224, 16, 1000, 384, 6),
        deit("deit_base_patch16_224", 224, 16, 1000, 768, 12),
        deit("deit_tiny_distilled_patch16_224", 224, 16, 1000, 192, 3, 12, true),
        deit("deit_small_distilled_patch16_224", 224, 16, 1000, 384, 6, 12, true),
        deit("deit_base_distilled_patch16_224", 224, 16, 1000, 768, 12, 12, true),
        deit("deit_tiny_plus_patch16_224", 224, 16, 1000, 256, 4),
        deit("deit_small_plus_patch16_224", 224, 16, 1000, 576, 9),
        deit("deit_base_plus_patch16_224", 224, 16, 1000, 1024, 16),
        // CIFAR 32x32, K = 10 (the same widths at patch 4 or 2; num_classes = 100 for CIFAR-100).
        convit("convit_cifar_tiny", 32, 4, 10, 192, 4),
        convit("convit_cifar_tiny_p2", 32, 2, 10, 192, 4),
        convit("convit_cifar_small", 32, 4, 10, 432, 9),
        convit("convit_cifar_small_p2", 32, 2, 10, 432, 9),
        deit("deit_cifar_tiny", 32, 4, 10, 192, 3),
        deit("deit_cifar_tiny_p2", 32, 2, 10, 192, 3),
        deit("deit_cifar_small", 32, 4, 10, 384, 6),
        deit("deit_cifar_small_p2", 32, 2, 10, 384, 6),
        // Smoke-test sizes (D = 96, H = 4, d = 24, L = 4, L_loc = 3), not for accuracy.
        convit("convit_cifar_micro", 32, 4, 10, 96, 4, 4, 3),
        deit("deit_cifar_micro", 32, 4, 10, 96, 4, 4),
        // The micro size of the benchmarks and the sample-efficiency study (shared/peers
        // RESULTS.md; docs/benchmarks.md): D = 96, H = 4, L = 6, ConViT with 4 GPSA layers.
        convit("convit_micro", 32, 4, 10, 96, 4, 6, 4),
        deit("deit_micro", 32, 4, 10, 96, 4, 6),
    };
    return t;
}

}  // namespace

std::vector<std::string> model_names() {
    std::vector<std::string> names;
    for (const ModelConfig& c : table()) names.push_back(c.name);
    return names;
}

ModelConfig model_config(const std::string& name) {
    for (const ModelConfig& c : table())
        if (c.name == name) return c;
    fail("model_config", "unknown model '{}'; known models: {}", name,
         fmt::join(model_names(), ", "));
}

std::shared_ptr<VisionModel> create_model(const ModelConfig& cfg) {
    if (cfg.arch == Arch::ConViT) return std::make_shared<ConViT>(cfg);
    return std::make_shared<DeiT>(cfg);
}

std::shared_ptr<VisionModel> create_model(const std::string& name) {
    return create_model(model_config(name));
}

int64_t count_parameters(const ModelConfig& c) {
    const int64_t D = c.embed_dim, H = c.num_heads, M = c.mlp_hidden(), K = c.num_classes;
    const int64_t N = c.num_patches(), P = c.in_chans * c.patch_size * c.patch_size;
    const int64_t qkv_b = c.qkv_bias ? 1 : 0;
    const int64_t common =
        4 * D /* LN1, LN2 */ + (D * D + D) /* proj */ + (D * M + M) + (M * D + D) /* MLP */;
    const int64_t mhsa = common + 3 * D * D + qkv_b * 3 * D;
    const int64_t gpsa =
        common + 3 * D * D + qkv_b * 3 * D /* qk + v */ + 4 * H /* pos_proj */ + H /* gate */;
    int64_t n =
        D * (P + 1) /* patch */ + D /* cls */ + 2 * D /* final LN */ + (D * K + K) /* head */;
    if (c.arch == Arch::ConViT) {
        const int64_t L_loc = std::min(c.local_up_to_layer, c.depth);
        n += N * D + L_loc * gpsa + (c.depth - L_loc) * mhsa;
    } else {
        const int64_t extra = c.distilled ? 1 : 0;
        n += (N + 1 + extra) * D + c.depth * mhsa + extra * (D + D * K + K);
    }
    return n;
}

int64_t forward_flops(const ModelConfig& c) {
    const int64_t D = c.embed_dim, H = c.num_heads, M = c.mlp_hidden(), K = c.num_classes;
    const int64_t N = c.num_patches(), P = c.in_chans * c.patch_size * c.patch_size;
    // Multiply-adds of one block over T tokens: q/k/v, scores, A v, proj, MLP.
    auto block = [&](int64_t T) {
        return T * D * 3 * D + 2 * T * T * D + T * D * D + 2 * T * D * M;
    };
    int64_t macs = N * P * D;
    if (c.arch == Arch::ConViT) {
        const int64_t L_loc = std::min(c.local_up_to_layer, c.depth);
        macs += L_loc * (block(N) + N * N * 3 * H) + (c.depth - L_loc) * block(N + 1) + D * K;
    } else {
        const int64_t T = N + 1 + (c.distilled ? 1 : 0);
        macs += c.depth * block(T) + D * K * (c.distilled ? 2 : 1);
    }
    return 2 * macs;
}

}  // namespace vg::models
