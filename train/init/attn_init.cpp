// Parsing and applying the structured attention initialisations.
#include "train/init/attn_init.h"

#include <fmt/ranges.h>

#include <chrono>
#include <cmath>
#include <ctime>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "models/deit.h"
#include "models/model_kwargs.h"
#include "models/registry.h"
#include "models/simplevit.h"

namespace vg {

namespace sinit = nn::sinit;

namespace {

// --- parsing -------------------------------------------------------------------------------------

double parse_number(const std::string& text, const std::string& what, const std::string& option) {
    try {
        size_t used = 0;
        double v = std::stod(text, &used);
        if (used == text.size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
    fail("attn_init", "'{}': {} must be a number, got '{}'", option, what, text);
}

int64_t parse_count(const std::string& text, const std::string& what, const std::string& option,
                    int64_t lo, int64_t hi) {
    double v = parse_number(text, what, option);
    if (v != std::floor(v) || v < double(lo) || v > double(hi))
        fail("attn_init", "'{}': {} must be an integer in [{}, {}], got '{}'", option, what, lo, hi,
             text);
    return int64_t(v);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t p; (p = s.find(sep, start)) != std::string::npos; start = p + 1)
        out.push_back(s.substr(start, p - start));
    out.push_back(s.substr(start));
    return out;
}

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(c); });
}

// impulse{S}_{r}_{f}_{scale}_{renorm}
void parse_ci_string(AttnInitSpec& s, const std::string& name) {
    std::vector<std::string> f = split(name.substr(7), '_');
    if (f.size() != 5)
        fail("attn_init",
             "'{}': the predecessor's form is impulse{{S}}_{{r}}_{{f}}_{{scale}}_"
             "{{renorm}}, e.g. impulse16_64_5_0.1_100",
             s.text);
    s.ci_grid = parse_count(f[0], "the grid side S", s.text, 1, 1024);
    s.ci_rank = parse_count(f[1], "the rank r", s.text, 1, 65536);
    s.kernel = parse_count(f[2], "the window side f", s.text, 1, 15);
    s.solve.scale = parse_number(f[3], "the logit scale", s.text);
    s.solve.renorm_every = parse_count(f[4], "the renormalisation interval", s.text, 1, 1000000);
    if (!(s.solve.scale > 0)) fail("attn_init", "'{}': the logit scale must be positive", s.text);
}

void parse_option(AttnInitSpec& s, const std::string& key, const std::string& value) {
    const AttnInitKind k = s.kind;
    const bool adam = k == AttnInitKind::ImpulseV1 || k == AttnInitKind::ImpulseCI;
    if (adam && key == "iters") {
        s.solve.iterations = parse_count(value, key, s.text, 0, 100000000);
    } else if (adam && key == "lr") {
        s.solve.lr = parse_number(value, key, s.text);
        if (!(s.solve.lr > 0)) fail("attn_init", "'{}': lr must be positive", s.text);
    } else if (k == AttnInitKind::ImpulseV1 && key == "renorm") {
        s.solve.renorm_every = parse_count(value, key, s.text, 0, 100000000);
    } else if (k == AttnInitKind::ImpulseV1 && key == "pseudo") {
        if (value.size() != 1 || std::string("PUGAB").find(value[0]) == std::string::npos)
            fail("attn_init", "'{}': pseudo must be one of P, U, G, A, B, got '{}'", s.text, value);
        s.pseudo = value[0];
    } else if (k == AttnInitKind::ImpulseV1 && key == "init_once") {
        if (value != "true" && value != "false")
            fail("attn_init", "'{}': init_once must be true or false, got '{}'", s.text, value);
        s.init_once = value == "true";
    } else if (k == AttnInitKind::ImpulseV2 &&
               (key == "norm_p" || key == "norm_q" || key == "norm_v")) {
        double v = parse_number(value, key, s.text);
        (key == "norm_p" ? s.norm_p : key == "norm_q" ? s.norm_q : s.norm_v) = v;
    } else {
        fail("attn_init",
             "'{}': unknown option '{}' for this method (impulse3/5: pseudo, "
             "init_once, iters, lr, renorm; impulse_v2: norm_p, norm_q, norm_v; the predecessor: "
             "iters, lr; mimetic: none)",
             s.text, key);
    }
}

// --- access to a model's attention weights
// ---------------------------------------------------------

// One attention layer's weights as views without history (writes land in the parameters).
struct LayerWeights {
    Tensor qk;       // [2D, D]: the q rows, then the k rows (heads in order within each)
    Tensor qk_bias;  // [2D] or undefined
    Tensor v, proj;  // [D, D]
    double* scale;   // the layer's logit scale
    int64_t heads, head_dim;
};

struct ModelWeights {
    std::vector<LayerWeights> layers;
    int64_t grid = 0, dim = 0;
    Tensor pos_embed;    // the whole table (parameter or buffer), no history
    Tensor pos_patches;  // [N, D]: its patch-token rows
    bool simplevit = false;
};

ModelWeights weights_of(models::VisionModel& model) {
    NoGradGuard ng;
    ModelWeights m;
    const models::ModelConfig& c = model.config();
    m.dim = c.embed_dim;
    const int64_t D = c.embed_dim;
    if (auto* vit = dynamic_cast<models::DeiT*>(&model)) {
        m.grid = vit->patch_embed->grid;
        m.pos_embed = vit->pos_embed.detach();
        const int64_t N = m.grid * m.grid;
        const int64_t first =
            c.pos_embed == models::PosEmbed::Learned ? vit->num_prefix_tokens() : 0;
        m.pos_patches = m.pos_embed.select(0, 0).narrow(0, first, N);
        for (auto& block : vit->blocks) {
            auto* a = dynamic_cast<nn::Attention*>(block->attn.get());
            if (!a) fail("attn_init", "model '{}' has a block without plain MHSA", c.name);
            Tensor w = a->qkv->weight.detach(), b = a->qkv->bias;
            m.layers.push_back({w.narrow(0, 0, 2 * D),
                                b.defined() ? b.detach().narrow(0, 0, 2 * D) : Tensor(),
                                w.narrow(0, 2 * D, D), a->proj->weight.detach(), &a->scale,
                                a->num_heads, a->head_dim});
        }
    } else if (auto* sv = dynamic_cast<models::SimpleViT*>(&model)) {
        m.simplevit = true;
        m.grid = sv->grid;
        m.pos_embed = sv->pos_embed.detach();
        m.pos_patches = m.pos_embed.select(0, 0);
        for (auto& a : sv->attn)
            m.layers.push_back({a->to_qk->weight.detach(), Tensor(), a->to_v->weight.detach(),
                                a->to_out->weight.detach(), &a->scale, a->num_heads, a->head_dim});
    } else {
        fail("attn_init",
             "model '{}' is neither a DeiT/ViT nor a SimpleViT (structured "
             "initialisation targets plain multi-head attention)",
             c.name);
    }
    return m;
}

void assign(Tensor dst, const Tensor& src) {
    NoGradGuard ng;
    dst.copy_(src.to(dst.dtype()).to(dst.device()));
}

// Head h's q rows get q_rows [d, D] and its k rows k_rows [d, D].
void write_qk(const LayerWeights& l, int64_t h, const Tensor& q_rows, const Tensor& k_rows) {
    const int64_t d = l.head_dim, D = l.qk.size(1);
    assign(l.qk.narrow(0, h * d, d), q_rows);
    assign(l.qk.narrow(0, D + h * d, d), k_rows);
}

// The value path x -> x W_v^T W_proj^T = x L R = x A with A = alpha Z + beta I: W_v = L^T,
// W_proj = R^T (the layout of structured_initialization's impulse mode). The released mimetic
// modes write W_v = L and W_proj = R instead; their map x (R L)^T is not A and changes with the
// SVD's arbitrary signs (flipping u_i, v_i maps R L to S R L S), so vitgrad does not follow them.
void write_value_path(const LayerWeights& l, Generator& gen, double alpha, double beta,
                      double gain) {
    sinit::MimeticFactors f =
        sinit::mimetic_factors(sinit::mimetic_noise(l.v.size(0), gen), alpha, beta);
    assign(l.v, f.L.transpose(0, 1) * gain);
    assign(l.proj, f.R.transpose(0, 1) * gain);
}

// v1's pseudo-input before its LayerNorm (SI1 get_pseudo_input).
Tensor pseudo_input(char code, const Tensor& pe, Generator& gen) {
    auto uniform = [&] {
        return Tensor::rand(pe.shape(), DType::F32, Device::cpu(), &gen) * 2.0 - 1.0;
    };
    auto gauss = [&] {
        return Tensor::trunc_normal(pe.shape(), 0.0, std::sqrt(0.5), -2.0, 2.0, DType::F32,
                                    Device::cpu(), &gen);
    };
    switch (code) {
        case 'U':
            return uniform();
        case 'G':
            return gauss();
        case 'A':
            return pe + uniform();
        case 'B':
            return pe + gauss();
        default:
            return pe;
    }
}

// Writes an Adam solve's factors into a layer.
void write_solution(const LayerWeights& l, const ImpulseSolveResult& r) {
    for (int64_t h = 0; h < l.heads; ++h)
        write_qk(l, h, r.q.select(0, h).transpose(0, 1), r.k.select(0, h));
}

void record_solve(AttnInitReport& rep, const ImpulseSolveResult& r) {
    rep.solves++;
    rep.cache_hits += r.from_cache ? 1 : 0;
    rep.losses.push_back(r.loss);
    if (!r.cache_file.empty()) rep.cache_files.push_back(r.cache_file);
}

void apply_v1(const ModelWeights& m, AttnInitSpec& s, Generator& gen, const std::string& cache,
              AttnInitReport& rep) {
    if (m.simplevit)
        fail("attn_init",
             "'{}' is structured-init v1 for ViT models; SimpleViT takes the "
             "predecessor's impulse_ci",
             s.text);
    const int64_t H = m.layers[0].heads, d = m.layers[0].head_dim;
    s.solve.scale = 1.0 / std::sqrt(double(d));
    const Tensor pe = m.pos_patches.to(DType::F32).contiguous();
    ImpulseSolveResult sol;
    std::vector<sinit::Offset> offsets;
    Tensor P;
    for (size_t i = 0; i < m.layers.size(); ++i) {
        if (i == 0 || !s.init_once) {
            P = sinit::layer_norm_no_affine(pseudo_input(s.pseudo, pe, gen));
            offsets = sinit::random_offsets(H, s.kernel, gen);
            auto [q0, k0] = impulse_initial_factors(H, m.dim, d, gen);
            sol = solve_impulse(P, sinit::shift_targets(m.grid, offsets), q0, k0, s.solve, cache);
            record_solve(rep, sol);
        }
        write_solution(m.layers[i], sol);
        rep.targets.push_back(offsets);
        rep.pseudo_inputs.push_back(P);
    }
}

void apply_v2(const ModelWeights& m, const AttnInitSpec& s, Generator& gen, AttnInitReport& rep) {
    if (m.simplevit)
        fail("attn_init", "'{}' is structured-init v2 for ViT models, not SimpleViT", s.text);
    const int64_t H = m.layers[0].heads, d = m.layers[0].head_dim;
    {
        NoGradGuard ng;
        Tensor pe = m.pos_embed;
        pe.mul_(s.norm_p);
    }
    const Tensor P = sinit::layer_norm_no_affine(m.pos_patches.to(DType::F64));
    const std::vector<sinit::Offset> offsets = sinit::fixed_offsets_3x3(H);
    const Tensor T = sinit::shift_targets(m.grid, offsets, DType::F64);
    for (const LayerWeights& l : m.layers) {
        Tensor noise =
            Tensor::trunc_normal(T.shape(), 0.0, 0.6, -2.0, 2.0, DType::F64, Device::cpu(), &gen);
        sinit::QKFactors f = sinit::impulse_v2_factors(P, sinit::impulse_v2_logits(T, noise), d);
        for (int64_t h = 0; h < H; ++h)
            write_qk(l, h, f.q.select(0, h).transpose(0, 1) * s.norm_q,
                     f.k.select(0, h) * s.norm_q);
        write_value_path(l, gen, s.v_alpha, -s.v_beta, s.norm_v);
        rep.targets.push_back(offsets);
        rep.pseudo_inputs.push_back(P);
    }
}

void apply_ci(const ModelWeights& m, AttnInitSpec& s, Generator& gen, const std::string& cache,
              AttnInitReport& rep) {
    if (!m.simplevit)
        fail("attn_init", "'{}' is the predecessor's init for SimpleViT (simplevit_cifar)", s.text);
    const int64_t H = m.layers[0].heads, d = m.layers[0].head_dim;
    if (s.ci_grid != 0 && s.ci_grid != m.grid)
        fail("attn_init", "'{}' solves on a {}x{} grid but the model's patch grid is {}x{}", s.text,
             s.ci_grid, s.ci_grid, m.grid, m.grid);
    if (s.ci_rank != 0 && s.ci_rank != d)
        fail("attn_init",
             "'{}' has rank {} but the model's head_dim is {} (the factors fill the "
             "q/k rows of each head)",
             s.text, s.ci_rank, d);
    const Tensor P = m.pos_patches.to(DType::F32).contiguous();
    for (const LayerWeights& l : m.layers) {
        std::vector<sinit::Offset> offsets = sinit::random_offsets(H, s.kernel, gen);
        auto [q0, k0] = impulse_initial_factors(H, m.dim, d, gen);
        ImpulseSolveResult sol =
            solve_impulse(P, sinit::shift_targets(m.grid, offsets), q0, k0, s.solve, cache);
        record_solve(rep, sol);
        write_solution(l, sol);
        *l.scale = s.solve.scale;
        rep.targets.push_back(offsets);
        rep.pseudo_inputs.push_back(P);
    }
}

void apply_mimetic(const ModelWeights& m, const AttnInitSpec& s, Generator& gen) {
    for (const LayerWeights& l : m.layers) {
        const int64_t d = l.head_dim;
        for (int64_t h = 0; h < l.heads; ++h) {
            sinit::MimeticFactors f =
                sinit::mimetic_factors(sinit::mimetic_noise(m.dim, gen), s.qk_alpha, s.qk_beta);
            write_qk(l, h, f.L.narrow(1, 0, d).transpose(0, 1), f.R.narrow(0, 0, d));
        }
        write_value_path(l, gen, s.v_alpha, -s.v_beta, 1.0);
    }
}

}  // namespace

AttnInitSpec parse_attn_init(const std::string& text_in) {
    AttnInitSpec s;
    std::string text = text_in;
    text.erase(0, text.find_first_not_of(" \t"));
    text.erase(text.find_last_not_of(" \t") + 1);
    s.text = text;
    if (text.empty() || text == "none") return s;
    const size_t colon = text.find(':');
    const std::string name = text.substr(0, colon);
    if (name == "impulse_v2") {
        s.kind = AttnInitKind::ImpulseV2;
    } else if (name == "impulse_ci") {
        s.kind = AttnInitKind::ImpulseCI;
        s.kernel = 5;
        s.solve.scale = 0.1;
    } else if (name.rfind("impulse", 0) == 0 && all_digits(name.substr(7))) {
        s.kind = AttnInitKind::ImpulseV1;
        s.kernel = parse_count(name.substr(7), "the window side", text, 1, 15);
    } else if (name.rfind("impulse", 0) == 0 && name.find('_') != std::string::npos) {
        s.kind = AttnInitKind::ImpulseCI;
        parse_ci_string(s, name);
    } else if (name == "mimetic") {
        s.kind = AttnInitKind::Mimetic;
    } else if (name.rfind("mimetic", 0) == 0) {
        s.kind = AttnInitKind::Mimetic;
        std::vector<std::string> ab = split(name.substr(7), '_');
        if (ab.size() != 2)
            fail("attn_init", "'{}': the form is mimetic{{alpha}}_{{beta}}, e.g. mimetic0.7_0.7",
                 text);
        s.qk_alpha = parse_number(ab[0], "alpha", text);
        s.qk_beta = parse_number(ab[1], "beta", text);
    } else {
        fail("attn_init",
             "unknown option '{}' (expected none, impulse3, impulse5, impulse_v2, "
             "impulse_ci, impulse{{S}}_{{r}}_{{f}}_{{scale}}_{{renorm}}, mimetic or "
             "mimetic{{alpha}}_{{beta}})",
             text);
    }
    if (colon != std::string::npos)
        for (const std::string& item : split(text.substr(colon + 1), ',')) {
            size_t eq = item.find('=');
            if (eq == std::string::npos)
                fail("attn_init", "'{}': options are key=value, got '{}'", text, item);
            parse_option(s, item.substr(0, eq), item.substr(eq + 1));
        }
    return s;
}

double attn_init_model_scale(const AttnInitSpec& s) {
    return s.kind == AttnInitKind::ImpulseCI ? s.solve.scale : 0.0;
}

models::ModelConfig run_model_config(const std::string& model, const std::string& kwargs,
                                     const std::string& attn_init) {
    models::ModelConfig c = models::model_config(model);
    models::apply_model_kwargs(c, kwargs);
    const double scale = attn_init_model_scale(parse_attn_init(attn_init));
    if (scale > 0) c.attn_scale = scale;
    return c;
}

std::string AttnInitReport::summary() const {
    std::string s = spec.text.empty() ? "none" : spec.text;
    if (solves > 0)
        s += fmt::format(": {} Adam solve{} ({} from the cache), final MSE {}", solves,
                         solves == 1 ? "" : "s", cache_hits,
                         fmt::format("{:.3g}", fmt::join(losses, ", ")));
    return s + fmt::format(", {:.1f} s ({:.1f} s of CPU)", seconds, cpu_seconds);
}

AttnInitReport apply_attn_init(models::VisionModel& model, const AttnInitSpec& spec_in,
                               Generator& gen, const std::string& cache_dir) {
    auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    AttnInitReport rep;
    rep.spec = spec_in;
    if (spec_in.kind == AttnInitKind::None) return rep;
    ModelWeights m = weights_of(model);
    if (m.layers.empty())
        fail("attn_init", "model '{}' has no attention layers", model.config().name);
    switch (rep.spec.kind) {
        case AttnInitKind::ImpulseV1:
            apply_v1(m, rep.spec, gen, cache_dir, rep);
            break;
        case AttnInitKind::ImpulseV2:
            apply_v2(m, rep.spec, gen, rep);
            break;
        case AttnInitKind::ImpulseCI:
            apply_ci(m, rep.spec, gen, cache_dir, rep);
            break;
        case AttnInitKind::Mimetic:
            apply_mimetic(m, rep.spec, gen);
            break;
        case AttnInitKind::None:
            break;
    }
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rep.cpu_seconds = double(std::clock() - c0) / CLOCKS_PER_SEC;
    return rep;
}

std::vector<Tensor> pseudo_input_maps(const models::VisionModel& model, const AttnInitReport& rep) {
    NoGradGuard ng;
    ModelWeights m = weights_of(const_cast<models::VisionModel&>(model));
    std::vector<Tensor> maps;
    for (size_t i = 0; i < m.layers.size() && i < rep.pseudo_inputs.size(); ++i) {
        const LayerWeights& l = m.layers[i];
        const Tensor& P0 = rep.pseudo_inputs[i];
        if (!P0.defined()) {
            maps.emplace_back();
            continue;
        }
        const int64_t N = P0.size(0), D = m.dim, H = l.heads, d = l.head_dim;
        Tensor P = P0.to(l.qk.dtype()).to(l.qk.device());
        auto project = [&](int64_t first) {
            Tensor b = l.qk_bias.defined() ? l.qk_bias.narrow(0, first, D) : Tensor();
            return linear(P, l.qk.narrow(0, first, D), b).reshape({N, H, d}).transpose(0, 1);
        };
        maps.push_back(softmax(matmul(project(0), project(D).transpose(1, 2), *l.scale), -1));
    }
    return maps;
}

}  // namespace vg
