// The impulse Adam solve and its disk cache.
#include "train/init/impulse_solve.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/safetensors.h"
#include "train/optim/optim.h"

namespace vg {

namespace {

constexpr const char* kCacheFormat = "vitgrad impulse solve 1";

// FNV-1a over the bytes of every input: the cache key.
struct Hasher {
    uint64_t h = 1469598103934665603ull;
    void bytes(const void* p, size_t n) {
        const auto* c = static_cast<const unsigned char*>(p);
        for (size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 1099511628211ull;
    }
    void tensor(const Tensor& t) {
        Tensor c = t.detach().cpu().to(DType::F32).contiguous();
        for (int64_t d : c.shape()) bytes(&d, sizeof d);
        bytes(c.raw_data(), size_t(c.numel()) * sizeof(float));
    }
    template <typename T>
    void value(T v) {
        bytes(&v, sizeof v);
    }
};

std::string cache_key(const Tensor& P, const Tensor& T, const Tensor& q0, const Tensor& k0,
                      const ImpulseSolveOptions& o) {
    Hasher h;
    h.bytes(kCacheFormat, std::strlen(kCacheFormat));
    for (const Tensor* t : {&P, &T, &q0, &k0}) h.tensor(*t);
    h.value(o.scale);
    h.value(o.iterations);
    h.value(o.lr);
    h.value(o.renorm_every);
    return fmt::format("{:016x}", h.h);
}

// Why the cached file cannot be used, or "" when it can (then q, k are filled).
std::string read_cache(const std::string& path, const std::string& key, const Tensor& q0,
                       const Tensor& k0, ImpulseSolveResult& r) {
    try {
        SafetensorsFile f = load_safetensors(path);
        auto meta = f.metadata.find("key");
        if (meta == f.metadata.end() || meta->second != key) return "its key does not match";
        auto q = f.tensors.find("q"), k = f.tensors.find("k");
        if (q == f.tensors.end() || k == f.tensors.end()) return "it lacks q or k";
        if (q->second.shape() != q0.shape() || k->second.shape() != k0.shape())
            return fmt::format("its factors are {} and {}, expected {} and {}",
                               q->second.shape().str(), k->second.shape().str(), q0.shape().str(),
                               k0.shape().str());
        for (const Tensor& t : {q->second, k->second})
            for (double v : t.to_vector())
                if (!std::isfinite(v)) return "it holds non-finite values";
        r.q = q->second.to(DType::F32);
        r.k = k->second.to(DType::F32);
        auto loss = f.metadata.find("loss");
        r.loss = loss == f.metadata.end() ? NAN : std::stod(loss->second);
        return "";
    } catch (const std::exception& e) {
        return e.what();
    }
}

void solve(const Tensor& P_in, const Tensor& targets, const Tensor& q0, const Tensor& k0,
           const ImpulseSolveOptions& o, ImpulseSolveResult& r) {
    const Tensor P = P_in.detach().to(DType::F32).contiguous();
    const Tensor Pt = P.transpose(0, 1);
    const Tensor T = targets.detach().to(DType::F32).contiguous();
    Tensor q = q0.detach().to(DType::F32).clone(), k = k0.detach().to(DType::F32).clone();
    q.requires_grad_();
    k.requires_grad_();
    AdamW opt({{"q", q}, {"k", k}},
              {.lr = o.lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.0});
    double nq = 0;  // mean column norm of the initial Q (over D)
    {
        NoGradGuard ng;
        nq = mean(sqrt(sum(q.detach() * q.detach(), {1}))).item();
    }
    for (int64_t it = 0; it < o.iterations; ++it) {
        if (o.renorm_every > 0 && it % o.renorm_every == 0) {
            NoGradGuard ng;
            for (Tensor* f : {&q, &k}) {
                Tensor d = f->detach();
                d.copy_(d * (rsqrt(sum(d * d, {1}, true)) * nq));
            }
        }
        Tensor logits = matmul(matmul(P, q), matmul(k, Pt), o.scale);  // [H, N, N]
        Tensor diff = softmax(logits, -1) - T;
        Tensor loss = mean(diff * diff);
        opt.zero_grad();
        loss.backward();
        opt.step();
        if (it + 1 == o.iterations) r.loss = loss.item();
    }
    r.q = q.detach();
    r.k = k.detach();
}

}  // namespace

std::pair<Tensor, Tensor> impulse_initial_factors(int64_t H, int64_t D, int64_t r, Generator& gen) {
    if (H <= 0 || D <= 0 || r <= 0)
        fail("impulse_initial_factors", "heads {}, dim {} and rank {} must be positive", H, D, r);
    const double a = std::sqrt(1.0 / double(r * H));
    NoGradGuard ng;
    Tensor q = Tensor::rand({H, D, r}, DType::F32, Device::cpu(), &gen) * (2 * a) - a;
    Tensor k = Tensor::rand({H, r, D}, DType::F32, Device::cpu(), &gen) * (2 * a) - a;
    return {q, k};
}

ImpulseSolveResult solve_impulse(const Tensor& P, const Tensor& targets, const Tensor& q0,
                                 const Tensor& k0, const ImpulseSolveOptions& o,
                                 const std::string& cache_dir) {
    if (P.dim() != 2 || targets.dim() != 3 || q0.dim() != 3 || k0.dim() != 3)
        fail("solve_impulse",
             "expected P [N, D], targets [H, N, N], q0 [H, D, r], k0 [H, r, D]; "
             "got {}, {}, {}, {}",
             P.desc(), targets.desc(), q0.desc(), k0.desc());
    const int64_t N = P.size(0), D = P.size(1), H = targets.size(0), rank = q0.size(2);
    if (targets.size(1) != N || targets.size(2) != N || q0.shape() != Shape{H, D, rank} ||
        k0.shape() != Shape{H, rank, D})
        fail("solve_impulse", "inconsistent shapes: P {}, targets {}, q0 {}, k0 {}", P.desc(),
             targets.desc(), q0.desc(), k0.desc());
    if (o.iterations < 0 || !(o.lr > 0) || !(o.scale > 0) || o.renorm_every < 0)
        fail("solve_impulse",
             "iterations {} >= 0, lr {} > 0, scale {} > 0 and renorm_every {} "
             ">= 0 are required",
             o.iterations, o.lr, o.scale, o.renorm_every);
    auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    ImpulseSolveResult r;
    std::string key;
    if (!cache_dir.empty()) {
        key = cache_key(P, targets, q0, k0, o);
        r.cache_file =
            (std::filesystem::path(cache_dir) / ("impulse-" + key + ".safetensors")).string();
        if (std::filesystem::exists(r.cache_file)) {
            std::string why = read_cache(r.cache_file, key, q0, k0, r);
            r.from_cache = why.empty();
            if (!r.from_cache)
                fmt::print(stderr, "attn-init cache: ignoring {} ({}); solving again\n",
                           r.cache_file, why);
        }
    }
    if (!r.from_cache) {
        solve(P, targets, q0, k0, o, r);
        if (!cache_dir.empty()) {
            try {
                std::filesystem::create_directories(cache_dir);
                save_safetensors(r.cache_file, {{"q", r.q}, {"k", r.k}},
                                 {{"key", key},
                                  {"format", kCacheFormat},
                                  {"loss", fmt::format("{:.10g}", r.loss)}});
            } catch (const std::exception& e) {
                fmt::print(stderr, "attn-init cache: could not write {} ({})\n", r.cache_file,
                           e.what());
            }
        }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.cpu_seconds = double(std::clock() - c0) / CLOCKS_PER_SEC;
    return r;
}

}  // namespace vg
