// CUDA optimiser steps: AdamW equal to the CPU's bit for bit (both backends round every
// operation on its own, in one order), the global gradient norm read from the device once, and
// gradcheck on CUDA leaves. Skipped without a device.
#include "autograd/gradcheck.h"
#include "core/dispatch.h"
#include "tests/helpers.h"
#include "train/optim/clip.h"
#include "train/optim/optim.h"

using namespace vg;
using namespace vg::test;

TEST_CASE("cuda adamw_step equals the CPU's bit for bit over several steps") {
    VG_REQUIRE_CUDA();
    Device d = Device::cuda();
    const int64_t n = 100003;  // many blocks and a ragged tail
    for (DType dt : {DType::F64, DType::F32}) {
        INFO(dtype_name(dt));
        Tensor pc = uniform({n}, -2, 2, dt, 1), mc = Tensor::zeros({n}, dt),
               vc = Tensor::zeros({n}, dt);
        Tensor pg = pc.to(d), mg = mc.to(d), vgd = vc.to(d);
        for (int64_t step = 1; step <= 5; ++step) {
            // Gradients spanning magnitudes from 1e-9 (below eps) to 1.
            Tensor g = mul(uniform({n}, -1, 1, dt, uint64_t(10 + step)),
                           pow(uniform({n}, 0, 1, dt, uint64_t(20 + step)), 9.0));
            AdamWParams p{1e-3, 0.9, 0.999, 1e-8, step % 2 ? 0.05 : 0.0, step};
            cpu::adamw_step(pc, g, mc, vc, p);
            Tensor gg = g.to(d);
            VG_DISPATCH(d, adamw_step, pg, gg, mg, vgd, p);
        }
        CHECK(pg.cpu().to_vector() == pc.to_vector());
        CHECK(mg.cpu().to_vector() == mc.to_vector());
        CHECK(vgd.cpu().to_vector() == vc.to_vector());
    }
}

TEST_CASE("cuda AdamW optimiser: decay and no-decay groups step like the CPU's") {
    VG_REQUIRE_CUDA();
    auto run = [](Device dev) {
        Tensor w = uniform({64, 48}, -1, 1, DType::F32, 3).to(dev).requires_grad_();
        Tensor b = uniform({64}, -1, 1, DType::F32, 4).to(dev).requires_grad_();
        AdamW opt({{"fc.weight", w}, {"fc.bias", b}}, AdamWOptions{1e-2, 0.9, 0.999, 1e-8, 0.05});
        Tensor x = uniform({16, 48}, -1, 1, DType::F32, 5).to(dev);
        for (int s = 0; s < 4; ++s) {
            opt.zero_grad();
            sum(tanh(linear(x, w, b))).backward();
            opt.step();
        }
        return std::make_pair(w.cpu().to_vector(), b.cpu().to_vector());
    };
    auto [wc, bc] = run(Device::cpu());
    auto [wg, bg] = run(Device::cuda());
    // The forward and backward differ by float32 rounding (GEMM order), so the updates do too.
    check_close(wg, wc, 1e-5);
    check_close(bg, bc, 1e-5);
}

#if VG_WITH_CUDA  // cuda::host_waits exists only where the backend is built
TEST_CASE("cuda global gradient norm: one host wait for all parameters") {
    VG_REQUIRE_CUDA();
    Device d = Device::cuda();
    std::vector<Tensor> cpu_params, gpu_params;
    for (int k = 0; k < 12; ++k) {
        Tensor g = uniform({int64_t(50 + 37 * k)}, -1, 1, DType::F32, uint64_t(40 + k));
        Tensor pc = Tensor::zeros(g.shape(), DType::F32).requires_grad_();
        Tensor pg = Tensor::zeros(g.shape(), DType::F32, d).requires_grad_();
        pc.set_grad(g);
        pg.set_grad(g.to(d));
        cpu_params.push_back(pc);
        gpu_params.push_back(pg);
    }
    double want = global_grad_norm(cpu_params);
    uint64_t before = cuda::host_waits();
    double got = global_grad_norm(gpu_params);
    CHECK(cuda::host_waits() - before == 1);
    CHECK(got == doctest::Approx(want).epsilon(1e-12));
    before = cuda::host_waits();
    clip_grad_norm(gpu_params, want / 2);
    CHECK(cuda::host_waits() - before == 1);
    CHECK(global_grad_norm(gpu_params) == doctest::Approx(want / 2).epsilon(1e-5));
}
#endif

TEST_CASE("cuda gradcheck: float64 leaves on the device are perturbed there") {
    VG_REQUIRE_CUDA();
    Device d = Device::cuda();
    Tensor x = uniform({3, 5}, -2, 2, DType::F64, 51).to(d).requires_grad_();
    Tensor w = uniform({5}, -1, 1, DType::F64, 52).to(d).requires_grad_();
    GradcheckResult r = gradcheck(
        [](const std::vector<Tensor>& in) { return log_softmax(layer_norm(in[0], in[1], {})); },
        {x, w});
    CHECK_MESSAGE(r.ok, r.message);
    Tensor a = uniform({4, 3}, -1, 1, DType::F64, 53).to(d).requires_grad_();
    r = gradcheck(
        [](const std::vector<Tensor>& in) { return matmul(in[0], in[0].transpose(0, 1)); }, {a});
    CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("cuda: a host buffer may be rewritten as soon as .to(cuda) returns") {
    VG_REQUIRE_CUDA();
    Tensor host = uniform({1 << 20}, -1, 1, DType::F32, 61);
    std::vector<double> want = host.to_vector();
    Tensor dev = host.to(Device::cuda());
    host.fill_(7.0);  // the copy must already have read the old values
    CHECK(dev.cpu().to_vector() == want);
}
