// Op-level benchmarks: the GEMM shapes of one model at one batch, the memory-bound ops around
// them, whole attention layers forward + backward, and the ceilings they are compared against.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/dispatch.h"
#include "nn/attention.h"
#include "nn/gpsa.h"
#include "train/bench/bench.h"
#include "train/bench/bench_timing.h"

namespace vg::bench {

namespace {

OpResult bench_matmul(const char* what, const Tensor& a, const Tensor& b, Device device, int warmup,
                      int reps) {
    const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
    const int64_t batch = a.dim() == 3 ? a.size(0) : 1;
    std::string shape = fmt::format("{}{}@{}{}", dims(a.shape()), a.is_contiguous() ? "" : "ᵀ",
                                    dims(b.shape()), b.is_contiguous() ? "" : "ᵀ");
    OpResult r = time_op(fmt::format("matmul {}", what), shape, device, warmup, reps,
                         [&] { (void)matmul(a, b); });
    r.flops = 2.0 * double(batch) * double(M) * double(N) * double(K);
    return r;
}

// A [rows, cols] tensor laid out as the transpose of a contiguous [cols, rows] one.
Tensor transposed(int64_t rows, int64_t cols, DType dt, Device dev) {
    return Tensor::randn({cols, rows}, dt, dev).transpose(0, 1);
}

}  // namespace

double measure_fma_peak() {
#if defined(__AVX512F__) || defined(__AVX2__)
    // Independent accumulators hide the FMA latency; every thread runs the same register loop.
    constexpr int kAcc = 12;
    const int64_t iters = 20'000'000;
    double best = 0;
    for (int trial = 0; trial < 3; ++trial) {
        float sink = 0;
        auto t0 = Clock::now();
        int threads = 1;
#pragma omp parallel reduction(+ : sink)
        {
#pragma omp single
            threads = omp_get_num_threads();
#if defined(__AVX512F__)
            using V = __m512;
            constexpr int kLanes = 16;
            auto fma = [](V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); };
            V acc[kAcc];
            for (int j = 0; j < kAcc; ++j) acc[j] = _mm512_set1_ps(float(j + omp_get_thread_num()));
            const V m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
#else
            using V = __m256;
            constexpr int kLanes = 8;
            auto fma = [](V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); };
            V acc[kAcc];
            for (int j = 0; j < kAcc; ++j) acc[j] = _mm256_set1_ps(float(j + omp_get_thread_num()));
            const V m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
#endif
            (void)kLanes;
            for (int64_t i = 0; i < iters; ++i)
                for (int j = 0; j < kAcc; ++j) acc[j] = fma(acc[j], m, c);
            alignas(64) float out[16] = {};
#if defined(__AVX512F__)
            for (int j = 0; j < kAcc; ++j)
                _mm512_store_ps(out, _mm512_add_ps(_mm512_load_ps(out), acc[j]));
#else
            for (int j = 0; j < kAcc; ++j)
                _mm256_store_ps(out, _mm256_add_ps(_mm256_load_ps(out), acc[j]));
#endif
            sink += out[0];
        }
        double s = ms_since(t0) / 1e3;
#if defined(__AVX512F__)
        const double lanes = 16;
#else
        const double lanes = 8;
#endif
        double gf = double(threads) * double(iters) * kAcc * lanes * 2 / s / 1e9;
        if (std::isfinite(sink)) best = std::max(best, gf);
    }
    return best;
#else
    return 0;
#endif
}

Ceiling measure_ceiling(int64_t n, Device device, DType dtype, int warmup, int reps,
                        bool fma_peak) {
    NoGradGuard no_grad;
    Tensor a = Tensor::randn({n, n}, dtype, device), b = Tensor::randn({n, n}, dtype, device);
    OpResult r = bench_matmul("ceiling", a, b, device, warmup, reps);
    Ceiling c;
    c.n = n;
    c.t = r.t;
    c.gemm_gflops = r.gflops();
    c.fma_gflops = fma_peak && device.is_cpu() && dtype == DType::F32 ? measure_fma_peak() : 0;
    return c;
}

std::vector<OpResult> bench_ops(const models::ModelConfig& cfg, int64_t batch, Device dev, DType dt,
                                int warmup, int reps) {
    NoGradGuard no_grad;
    const int64_t D = cfg.embed_dim, M = cfg.mlp_hidden(), H = cfg.num_heads, d = D / H;
    const int64_t T = cfg.num_patches() + 1, BT = batch * T;
    const double es = double(dtype_size(dt));
    std::vector<OpResult> out;
    auto mm = [&](const char* what, const Tensor& a, const Tensor& b) {
        out.push_back(bench_matmul(what, a, b, dev, warmup, reps));
    };

    // Linear layers: activations [B*T, in] @ W^T [in, out] (W stored [out, in], passed transposed).
    Tensor x_d = Tensor::randn({BT, D}, dt, dev), x_m = Tensor::randn({BT, M}, dt, dev);
    mm("qkv fwd", x_d, transposed(D, 3 * D, dt, dev));
    mm("fc1 fwd", x_d, transposed(D, M, dt, dev));
    mm("fc2 fwd", x_m, transposed(M, D, dt, dev));
    mm("proj fwd", x_d, transposed(D, D, dt, dev));
    // Input gradients dY [B*T, out] @ W [out, in]; weight gradients dY^T [out, B*T] @ X [B*T, in].
    mm("qkv dX", Tensor::randn({BT, 3 * D}, dt, dev), Tensor::randn({3 * D, D}, dt, dev));
    mm("fc1 dX", Tensor::randn({BT, M}, dt, dev), Tensor::randn({M, D}, dt, dev));
    mm("qkv dW", transposed(3 * D, BT, dt, dev), x_d);
    mm("fc1 dW", transposed(M, BT, dt, dev), x_d);
    mm("fc2 dW", transposed(D, BT, dt, dev), x_m);
    // Batched attention over B*H: scores q k^T and A v.
    Tensor q = Tensor::randn({batch * H, T, d}, dt, dev);
    mm("scores q@kT", q, Tensor::randn({batch * H, T, d}, dt, dev).transpose(1, 2));
    Tensor attn = softmax(Tensor::randn({batch * H, T, T}, dt, dev), -1);
    mm("attn A@v", attn, Tensor::randn({batch * H, T, d}, dt, dev));

    // The whole attention of one layer, forward and backward (multi_head_attention: fused on the
    // CPU unless --cpu-attention composite): its six products are 12 B H T^2 d FLOPs.
    {
        GradModeGuard with_grad(true);
        Tensor qkv = Tensor::randn({batch, T, 3 * D}, dt, dev).requires_grad_();
        Tensor dout = Tensor::randn({batch, T, D}, dt, dev);
        const double scale = 1.0 / std::sqrt(double(d));
        OpResult r = time_op("attention fwd+bwd", dims({batch, H, T, d}), dev, warmup, reps, [&] {
            qkv.set_grad(Tensor());  // a fresh gradient each call, not an accumulation
            multi_head_attention(qkv, {}, H, scale).backward(dout);
        });
        r.flops = 12.0 * double(batch * H) * double(T * T) * double(d);
        out.push_back(std::move(r));
    }

    // Memory-bound ops: bytes are the minimal traffic (every input read once, output written once).
    const std::string sh_attn = dims({batch * H, T, T}), sh_d = dims({BT, D}), sh_m = dims({BT, M});
    const double n_attn = double(batch * H * T * T), n_d = double(BT * D), n_m = double(BT * M);
    Tensor scores = Tensor::randn({batch * H * T, T}, dt, dev);
    Tensor probs = softmax(scores, -1), dprobs = Tensor::randn({batch * H * T, T}, dt, dev);
    Tensor dscores = Tensor::empty({batch * H * T, T}, dt, dev);
    auto add_mem = [&](OpResult r, double bytes) {
        r.bytes = bytes;
        out.push_back(std::move(r));
    };
    add_mem(time_op("softmax fwd", sh_attn, dev, warmup, reps, [&] { (void)softmax(scores, -1); }),
            2 * n_attn * es);
    add_mem(time_op("softmax bwd", sh_attn, dev, warmup, reps,
                    [&] { VG_DISPATCH(dev, softmax_bwd, probs, dprobs, dscores, false); }),
            3 * n_attn * es);
    Tensor w = Tensor::ones({D}, dt, dev), b = Tensor::zeros({D}, dt, dev);
    Tensor y_ln = Tensor::empty({BT, D}, dt, dev), ln_mean = Tensor::empty({BT}, dt, dev),
           ln_rstd = Tensor::empty({BT}, dt, dev);
    VG_DISPATCH(dev, layernorm_fwd, x_d, w, b, 1e-6, y_ln, ln_mean, ln_rstd);
    add_mem(time_op("layer_norm fwd", sh_d, dev, warmup, reps,
                    [&] { (void)layer_norm(x_d, w, b, 1e-6); }),
            2 * n_d * es);
    add_mem(time_op("layer_norm bwd", sh_d, dev, warmup, reps,
                    [&] {
                        Tensor dx = Tensor::empty({BT, D}, dt, dev),
                               dw = Tensor::zeros({D}, dt, dev), db = Tensor::zeros({D}, dt, dev);
                        VG_DISPATCH(dev, layernorm_bwd, x_d, w, ln_mean, ln_rstd, y_ln, dx, dw, db);
                    }),
            3 * n_d * es);
    add_mem(time_op("gelu fwd", sh_m, dev, warmup, reps, [&] { (void)gelu(x_m); }), 2 * n_m * es);
    Tensor g_m = gelu(x_m), dg_m = Tensor::randn({BT, M}, dt, dev),
           dx_m = Tensor::empty({BT, M}, dt, dev);
    add_mem(time_op("gelu bwd", sh_m, dev, warmup, reps,
                    [&] {
                        VG_DISPATCH(dev, unary_bwd, UnaryOp::Gelu, UnaryParams{}, x_m, g_m, dg_m,
                                    dx_m);
                    }),
            4 * n_m * es);
    Tensor y_d = Tensor::randn({BT, D}, dt, dev);
    add_mem(time_op("add", sh_d, dev, warmup, reps, [&] { (void)add(x_d, y_d); }), 3 * n_d * es);
    add_mem(time_op("mul", sh_d, dev, warmup, reps, [&] { (void)mul(x_d, y_d); }), 3 * n_d * es);
    add_mem(time_op("copy (transpose 0,1)", dims({batch, T, D}), dev, warmup, reps,
                    [&] {
                        (void)x_d.view({batch, T, D}).transpose(0, 1).contiguous();
                    }),
            2 * n_d * es);
    // Reductions: the bias gradients of linear layers (columns), rows of the attention width,
    // and whole tensors (losses, gradient norms).
    add_mem(time_op("sum bias grad (dim 0)", sh_m, dev, warmup, reps, [&] { (void)sum(x_m, {0}); }),
            (n_m + double(M)) * es);
    add_mem(time_op("sum rows (dim -1)", dims(scores.shape()), dev, warmup, reps,
                    [&] { (void)sum(scores, {-1}); }),
            n_attn * es * (1 + 1.0 / double(T)));
    add_mem(time_op("sum all", sh_m, dev, warmup, reps, [&] { (void)sum(x_m); }), n_m * es);
    add_mem(time_op("mean all", sh_m, dev, warmup, reps, [&] { (void)mean(x_m); }), n_m * es);
    add_mem(time_op("max rows (dim -1)", dims(scores.shape()), dev, warmup, reps,
                    [&] { (void)max(scores, -1); }),
            n_attn * es + n_attn / double(T) * (es + 8));
    add_mem(time_op("sum middle dim (dim 1)", sh_attn, dev, warmup, reps,
                    [&] { (void)sum(attn, {1}); }),
            n_attn * es * (1 + 1.0 / double(T)));
    add_mem(time_op("var rows (dim -1)", dims(scores.shape()), dev, warmup, reps,
                    [&] { (void)var(scores, {-1}); }),
            2 * n_attn * es);

    // Whole attention layers, forward + backward (gradient of sum(y) w.r.t. x and the weights).
    auto layer = [&](const char* name, nn::AttentionLayer& l, int64_t tokens) {
        l.to(dt);
        l.to(dev);
        Tensor x = Tensor::randn({batch, tokens, D}, dt, dev);
        x.requires_grad_();
        Tensor g = Tensor::ones({batch, tokens, D}, dt, dev);
        OpResult r = time_op(fmt::format("{} fwd+bwd", name), dims({batch, tokens, D}), dev, warmup,
                             reps, [&] {
                                 GradModeGuard on(true);
                                 l.forward(x).backward(g);
                             });
        // Forward multiply-adds: projections 4 T D^2 (q, k, v, proj) + scores and A v 2 T^2 D;
        // the backward does twice the forward's matmul work.
        r.flops = 3.0 * 2.0 * double(batch) * (4.0 * tokens * D * D + 2.0 * tokens * tokens * D);
        out.push_back(std::move(r));
    };
    {
        GradModeGuard on(true);
        nn::Attention mhsa(D, H, cfg.qkv_bias);
        layer("MHSA", mhsa, T);
        if (cfg.arch == models::Arch::ConViT) {
            nn::GPSA gpsa(D, H, cfg.qkv_bias);
            layer("GPSA", gpsa, T - 1);
        }
    }
    return out;
}

}  // namespace vg::bench
