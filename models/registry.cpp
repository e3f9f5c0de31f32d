// The table of named configurations (ConViT Table 1, d'Ascoli et al. 2021; DeiT Table 1, Touvron et
// al. 2021; their CIFAR sizes in docs/models.md) and the dry parameter / FLOP counts.
#include "models/registry.h"

#include <fmt/ranges.h>

#include "models/convit.h"
#include "models/deit.h"
#include "models/fcvit.h"
#include "models/refiner.h"
#include "models/simplevit.h"

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

// Refiner paper mode (Zhou et al. 2021): the attention maps of every MHSA block refined with a
// 3x head expansion and 3x3 depthwise kernels.
ModelConfig refined(ModelConfig c, const char* name) {
    c.name = name;
    c.refiner_expand = 3;
    return c;
}

// Refiner-ViT as released: alternating computing / sharing blocks, MLP ratio 3, qkv bias, conv
// stem, DLA expansion 3 in the sharing blocks.
ModelConfig refiner_vit(const char* name, int64_t img, int64_t patch, int64_t classes, int64_t D,
                        int64_t H, int64_t L) {
    ModelConfig c = base(name, Arch::Refiner, img, patch, classes, D, H, L, true);
    c.mlp_ratio = 3.0;
    c.refiner_expand = 3;
    return c;
}

// A timm ViT as structured-init v1 trains it (SI1 README: class_token=False, --gp avg,
// sin_pe=True): no class token, mean of the patch tokens into fc_norm, fixed 2-D sin-cos position
// embedding.
ModelConfig vit_gap(const char* name, int64_t img, int64_t patch, int64_t classes, int64_t D,
                    int64_t H, int64_t L) {
    ModelConfig c = base(name, Arch::DeiT, img, patch, classes, D, H, L, true);
    c.class_token = false;
    c.pool = Pool::Avg;
    c.pos_embed = PosEmbed::SinCos2d;
    return c;
}

// The predecessor's SimpleViT (CI-code mytrain_vit.py defaults): MLP width = D, no attention
// biases, PyTorch-default init.
ModelConfig simplevit(const char* name, int64_t img, int64_t patch, int64_t classes, int64_t D,
                      int64_t H, int64_t L) {
    ModelConfig c = base(name, Arch::SimpleViT, img, patch, classes, D, H, L, false);
    c.mlp_ratio = 1.0;
    c.weight_init = WeightInit::Torch;
    return c;
}

// FCViT (ma-xu/FCViT models/fcvit.py): 4 stages, MLP ratios 8, 8, 4, 4, 8 context groups; the
// generic fields as ModelConfig describes them for FCViT.
ModelConfig fcvit(const char* name, int64_t img, int64_t stem_stride, int64_t classes,
                  std::vector<int64_t> depths, std::vector<int64_t> widths) {
    int64_t blocks = 0;
    for (int64_t d : depths) blocks += d;
    ModelConfig c =
        base(name, Arch::FCViT, img, stem_stride, classes, widths.back(), 8, blocks, false);
    c.fcvit_depths = std::move(depths);
    c.fcvit_widths = std::move(widths);
    c.fcvit_mlp_ratios = {8, 8, 4, 4};
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
        // Refiner, the paper's attention-map refinement in DeiT's and ConViT's MHSA blocks.
        refined(deit("", 32, 4, 10, 192, 3), "deit_cifar_tiny_refiner"),
        refined(convit("", 32, 4, 10, 192, 4), "convit_cifar_tiny_refiner"),
        refined(deit("", 32, 4, 10, 96, 4, 4), "deit_cifar_micro_refiner"),
        refined(convit("", 32, 4, 10, 96, 4, 4, 3), "convit_cifar_micro_refiner"),
        // Refiner-ViT as released (S/M/L: refined_transformer.py), and CIFAR sizes: the conv stem
        // (stride 2) and a stride-2 projection give 8 x 8 tokens at 32 x 32.
        refiner_vit("refiner_vit_s", 224, 16, 1000, 384, 12, 16),
        refiner_vit("refiner_vit_m", 224, 16, 1000, 420, 12, 32),
        refiner_vit("refiner_vit_l", 224, 16, 1000, 512, 16, 32),
        refiner_vit("refiner_vit_cifar_tiny", 32, 4, 10, 192, 6, 12),
        refiner_vit("refiner_vit_cifar_micro", 32, 4, 10, 96, 4, 4),
        // Structured attention initialisation (arXiv 2404.01139, 2401.12511): v1's ViT-Ti/2
        // (5,343,178 parameters at K = 10), a micro size of it that trains in minutes on two
        // cores, and the predecessor's SimpleViT (9,469,474).
        vit_gap("vit_tiny_patch2_32", 32, 2, 10, 192, 3, 12),
        vit_gap("vit_micro_patch4_32", 32, 4, 10, 96, 3, 6),
        simplevit("simplevit_cifar", 32, 2, 10, 512, 8, 6),
        // FCViT as released at 224 (stem stride 4), and CIFAR sizes with a stride-2 stem (a
        // modification: 32 -> 16 -> 8 -> 4 -> 2); the micro size (450,802 parameters, as many as
        // deit_cifar_micro's 459,562) trains in minutes on two cores.
        fcvit("fcvit_tiny", 224, 4, 1000, {3, 3, 5, 2}, {32, 64, 160, 320}),
        fcvit("fcvit_b12", 224, 4, 1000, {2, 2, 6, 2}, {64, 128, 320, 512}),
        fcvit("fcvit_b24", 224, 4, 1000, {4, 4, 12, 4}, {64, 128, 320, 512}),
        fcvit("fcvit_b48", 224, 4, 1000, {8, 8, 24, 8}, {64, 128, 320, 512}),
        fcvit("fcvit_cifar_tiny", 32, 2, 10, {3, 3, 5, 2}, {32, 64, 160, 320}),
        fcvit("fcvit_cifar_micro", 32, 2, 10, {1, 1, 2, 1}, {16, 32, 64, 128}),
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
    if (cfg.arch == Arch::Refiner) return std::make_shared<RefinerViT>(cfg);
    if (cfg.arch == Arch::SimpleViT) return std::make_shared<SimpleViT>(cfg);
    if (cfg.arch == Arch::FCViT) return std::make_shared<FCViT>(cfg);
    return std::make_shared<DeiT>(cfg);
}

std::shared_ptr<VisionModel> create_model(const std::string& name) {
    return create_model(model_config(name));
}

int64_t count_parameters(const ModelConfig& c) {
    if (c.arch == Arch::Refiner) return refiner_vit_parameters(c);
    if (c.arch == Arch::FCViT) return fcvit_parameters(c);
    const int64_t D = c.embed_dim, H = c.num_heads, M = c.mlp_hidden(), K = c.num_classes;
    const int64_t N = c.num_patches(), P = c.in_chans * c.patch_size * c.patch_size;
    const int64_t qkv_b = c.qkv_bias ? 1 : 0;
    const int64_t common =
        4 * D /* LN1, LN2 */ + (D * D + D) /* proj */ + (D * M + M) + (M * D + D) /* MLP */;
    const int64_t refiner = c.refiner_expand > 0 ? nn::attention_refiner_parameters(
                                                       H, c.refiner_expand, c.refiner_kernel)
                                                 : 0;
    const int64_t mhsa = common + 3 * D * D + qkv_b * 3 * D + refiner;
    const int64_t gpsa =
        common + 3 * D * D + qkv_b * 3 * D /* qk + v */ + 4 * H /* pos_proj */ + H /* gate */;
    const int64_t head = D * K + K, final_norm = 2 * D;
    if (c.arch == Arch::SimpleViT) {
        const int64_t layer = 2 * D + 4 * D * D /* norm, to_qk, to_v, to_out */ + 2 * D +
                              (D * M + M) + (M * D + D) /* feed-forward */;
        return 2 * P + (P * D + D) + 2 * D /* LN, Linear, LN */ + c.depth * layer + final_norm +
               head;
    }
    int64_t n = D * (P + 1) /* patch */ + final_norm + head;
    if (c.arch == Arch::ConViT) {
        const int64_t L_loc = std::min(c.local_up_to_layer, c.depth);
        return n + D /* cls */ + N * D + L_loc * gpsa + (c.depth - L_loc) * mhsa;
    }
    const int64_t prefix = (c.class_token ? 1 : 0) + (c.distilled ? 1 : 0);
    const int64_t pos = c.pos_embed == PosEmbed::Learned ? (N + prefix) * D : 0;
    return n + prefix * D + pos + c.depth * mhsa + (c.distilled ? head : 0);
}

int64_t forward_flops(const ModelConfig& c) {
    if (c.arch == Arch::Refiner) return refiner_vit_flops(c);
    if (c.arch == Arch::FCViT) return fcvit_flops(c);
    const int64_t D = c.embed_dim, H = c.num_heads, M = c.mlp_hidden(), K = c.num_classes;
    const int64_t N = c.num_patches(), P = c.in_chans * c.patch_size * c.patch_size;
    // Multiply-adds of one block over T tokens: q/k/v, scores, A v, proj, MLP.
    auto block = [&](int64_t T) {
        return T * D * 3 * D + 2 * T * T * D + T * D * D + 2 * T * D * M;
    };
    // MHSA blocks add the refiner's convolutions when there is one.
    auto mhsa = [&](int64_t T) {
        return block(T) + (c.refiner_expand > 0 ? nn::attention_refiner_macs(H, c.refiner_expand,
                                                                             c.refiner_kernel, T)
                                                : 0);
    };
    int64_t macs = N * P * D;
    if (c.arch == Arch::ConViT) {
        const int64_t L_loc = std::min(c.local_up_to_layer, c.depth);
        macs += L_loc * (block(N) + N * N * 3 * H) + (c.depth - L_loc) * mhsa(N + 1) + D * K;
    } else if (c.arch == Arch::SimpleViT) {
        macs += c.depth * block(N) + D * K;  // q/k (2D) and v (D) widths add up as for qkv
    } else {
        const int64_t T = N + (c.class_token ? 1 : 0) + (c.distilled ? 1 : 0);
        macs += c.depth * mhsa(T) + D * K * (c.distilled ? 2 : 1);
    }
    return 2 * macs;
}

}  // namespace vg::models
