// Op-level benchmarks of the convolution family at FCViT's and Refiner's CIFAR shapes: the direct
// depthwise kernels (forward, input gradient, weight gradient), the 1x1 convolutions over heads,
// batch_norm (forward + backward, batch statistics) and relu6.
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/dispatch.h"
#include "train/bench/bench.h"
#include "train/bench/bench_timing.h"

namespace vg::bench {

namespace {

// Forward, input-gradient and weight-gradient kernels of one depthwise geometry. FLOPs count every
// tap of the kernel window, padding included (2 per multiply-add); bytes the minimal traffic.
void bench_depthwise(const char* who, int64_t B, int64_t C, int64_t H, int64_t k, Device dev,
                     DType dt, int warmup, int reps, std::vector<OpResult>& out) {
    const int64_t p = (k - 1) / 2;
    ConvGeom g{B, C, H, H, C, k, k, 1, 1, p, p, C};
    Tensor x = Tensor::randn({B, C, H, H}, dt, dev), w = Tensor::randn({C, 1, k, k}, dt, dev);
    Tensor y = Tensor::empty({B, C, H, H}, dt, dev), dx = Tensor::empty({B, C, H, H}, dt, dev);
    Tensor dw = Tensor::empty({C, 1, k, k}, dt, dev), none;
    const double flops = 2.0 * double(B * C * H * H * k * k);
    const double bytes = 2.0 * double(B * C * H * H) * double(dtype_size(dt));
    const std::string shape = fmt::format("{} k{}", dims({B, C, H, H}), k);
    auto add = [&](OpResult r) {
        r.flops = flops;
        r.bytes = bytes;
        out.push_back(std::move(r));
    };
    add(time_op(fmt::format("dwconv {} fwd", who), shape, dev, warmup, reps,
                [&] { VG_DISPATCH(dev, dwconv2d_fwd, x, w, none, g, y); }));
    add(time_op(fmt::format("dwconv {} dx", who), shape, dev, warmup, reps,
                [&] { VG_DISPATCH(dev, dwconv2d_bwd_input, y, w, g, dx); }));
    add(time_op(fmt::format("dwconv {} dw", who), shape, dev, warmup, reps,
                [&] { VG_DISPATCH(dev, dwconv2d_bwd_weight, x, y, g, dw); }));
}

}  // namespace

std::vector<OpResult> bench_conv_ops(int64_t B, Device dev, DType dt, int warmup, int reps) {
    NoGradGuard no_grad;
    std::vector<OpResult> out;
    const double es = double(dtype_size(dt));
    // FCViT-tiny on CIFAR with a stride-2 stem: 16/8/4/2 maps, widths 32/64/160/320, 11x11 in the
    // token mixer; 3x3 in the channel mixer over the hidden channels (MLP ratios 8/8/4/4).
    const std::pair<int64_t, int64_t> fcvit_stages[] = {{32, 16}, {64, 8}, {160, 4}, {320, 2}};
    const int64_t mlp_ratio[] = {8, 8, 4, 4};
    for (auto [C, H] : fcvit_stages)
        bench_depthwise("FCViT", B, C, H, 11, dev, dt, warmup, reps, out);
    for (int s = 0; s < 4; ++s)
        bench_depthwise("FCViT-mlp", B, fcvit_stages[s].first * mlp_ratio[s],
                        fcvit_stages[s].second, 3, dev, dt, warmup, reps, out);
    // Refiner on DeiT-Ti/4: 3 heads expanded to 9 maps of 65 x 65, 3x3.
    const int64_t T = 65, H = 3, E = 9;
    bench_depthwise("Refiner", B, E, T, 3, dev, dt, warmup, reps, out);
    Tensor a = Tensor::rand({B, H, T, T}, dt, dev), e = Tensor::randn({B, E, T, T}, dt, dev);
    Tensor w_exp = Tensor::randn({E, H, 1, 1}, dt, dev),
           w_pro = Tensor::randn({H, E, 1, 1}, dt, dev);
    const double n_a = double(B * H * T * T), n_e = double(B * E * T * T);
    auto with = [&](OpResult r, double flops, double bytes) {
        r.flops = flops;
        r.bytes = bytes;
        out.push_back(std::move(r));
    };
    with(time_op("conv2d 1x1 fwd (heads 3->9)", dims({B, H, T, T}), dev, warmup, reps,
                 [&] { (void)conv2d(a, w_exp); }),
         2.0 * n_e * H, (n_a + n_e) * es);
    with(time_op("conv2d 1x1 fwd (heads 9->3)", dims({B, E, T, T}), dev, warmup, reps,
                 [&] { (void)conv2d(e, w_pro); }),
         2.0 * n_a * E, (n_a + n_e) * es);
    {
        GradModeGuard on(true);
        Tensor x = e.detach().requires_grad_(), gw = Tensor::ones({E}, dt, dev).requires_grad_();
        Tensor gb = Tensor::zeros({E}, dt, dev).requires_grad_(),
               dy = Tensor::randn({B, E, T, T}, dt, dev);
        with(time_op("batch_norm train fwd+bwd", dims({B, E, T, T}), dev, warmup, reps,
                     [&] { batch_norm(x, gw, gb, {}, {}, true).backward(dy); }),
             0, 6.0 * n_e * es);  // stats + normalise read 2x, write 1x; backward reads 3x
    }
    with(time_op("relu6 fwd", dims({B, E, T, T}), dev, warmup, reps, [&] { (void)relu6(e); }), 0,
         2.0 * n_e * es);
    return out;
}

}  // namespace vg::bench
