// CUDA runtime behaviour: device discovery without a device, the caching allocator (steady state
// and out-of-memory), device-side index errors, cross-device errors, identical random streams,
// and the TF32 / sync-debug switches. GPU tests skip with a message where no device is present.
#include <cstring>

#include "autograd/grad_mode.h"
#include "core/allocator.h"
#include "tests/helpers.h"

using namespace vg;
using namespace vg::test;

TEST_CASE("cuda: availability is a plain answer, and asking for a missing device is a vg::Error") {
#if VG_WITH_CUDA
    CHECK_NOTHROW((void)cuda::available());
    CHECK(cuda::available() == (cuda::device_count() > 0));
    CHECK_FALSE(cuda::allow_tf32());  // exact float32 parity by default
#endif
    if (cuda_available()) {
        Device past_end = Device::cuda(1 << 20);
        CHECK_THROWS_WITH_AS(Tensor::empty({2}, DType::F32, past_end),
                             doctest::Contains("cuda:1048576"), vg::Error);
    } else {
        // The skip path: a CUDA tensor without a device says why instead of crashing.
        CHECK_THROWS_WITH_AS(Tensor::empty({2}, DType::F32, Device::cuda()),
                             doctest::Contains("CUDA"), vg::Error);
    }
}

TEST_CASE("cuda allocator: the third step of a fixed-shape training loop makes no cudaMalloc") {
    VG_REQUIRE_CUDA();
    Device d = Device::cuda();
    Tensor w = uniform({16, 8}, -1, 1, DType::F32, 1).to(d).requires_grad_();
    Tensor x = uniform({4, 16}, -1, 1, DType::F32, 2).to(d);
    auto step = [&] {
        Tensor y = tanh(matmul(x, w));
        Tensor loss = sum(mul(y, y));
        loss.backward();
        NoGradGuard ng;
        w.add_(w.grad(), -0.1);
        w.set_grad(Tensor());
    };
    step();
    step();
    Allocator& a = allocator_for(d);
    AllocatorStats before = a.stats();
    step();
    AllocatorStats after = a.stats();
    CHECK(after.requests > before.requests);
    CHECK(after.fresh_allocations == before.fresh_allocations);
    CHECK(after.bytes_reserved >= after.bytes_in_use);
}

TEST_CASE("cuda allocator: an impossible request is a vg::Error with the sizes involved") {
    VG_REQUIRE_CUDA();
    Device d = Device::cuda();
    Tensor keep = Tensor::ones({1024}, DType::F32, d);  // something in use to report
    int64_t pib_floats = int64_t(1) << 48;              // 1 PiB of float32
    std::string msg;
    try {
        (void)Tensor::empty({pib_floats}, DType::F32, d);
    } catch (const vg::Error& e) {
        msg = e.what();
    }
    INFO(msg);
    CHECK(msg.find("cuda_allocator") != std::string::npos);
    CHECK(msg.find("out of memory") != std::string::npos);
    CHECK(msg.find("1125899906842624 bytes requested") != std::string::npos);
    CHECK(msg.find("in use") != std::string::npos);
    CHECK(msg.find("reserved") != std::string::npos);
    // The device is still usable afterwards.
    CHECK(sum(keep).item() == doctest::Approx(1024.0));
}

TEST_CASE("cuda: an out-of-range gather index is a vg::Error naming the op, not a device fault") {
    VG_REQUIRE_CUDA();
    Device d = Device::cuda();
    Tensor x = uniform({2, 3}, -1, 1, DType::F32).to(d);
    Tensor idx = Tensor::from_vector_i64({0, 2, 1, 7}, {2, 2}, d);
    CHECK_THROWS_WITH_AS(gather(x, 1, idx), doctest::Contains("gather"), vg::Error);
    CHECK_THROWS_WITH_AS(gather(x, 1, idx), doctest::Contains("index 7 at flat position 3"),
                         vg::Error);
    // No sticky device error: later work on the device still runs.
    Tensor ok = Tensor::from_vector_i64({0, 2, 1, 0}, {2, 2}, d);
    CHECK(gather(x, 1, ok).cpu().at({1, 1}) == x.cpu().at({1, 0}));
}

TEST_CASE("cuda: an op mixing cpu and cuda tensors names the op and both devices") {
    VG_REQUIRE_CUDA();
    Tensor a = Tensor::ones({2, 2});
    Tensor b = Tensor::ones({2, 2}, DType::F32, Device::cuda());
    CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("add"), vg::Error);
    CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("on cpu"), vg::Error);
    CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("on cuda:0"), vg::Error);
    CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("matmul"), vg::Error);
}

TEST_CASE("cuda: random streams equal the CPU's") {
    VG_REQUIRE_CUDA();
    Device d = Device::cuda();
    const Shape s{3, 1001};
    for (DType dt : {DType::F64, DType::F32}) {
        Generator gc(1234), gg(1234);
        // Uniform draws are integer arithmetic and one exact scaling: identical bit for bit.
        CHECK(Tensor::rand(s, dt, Device::cpu(), &gc).to_vector() ==
              Tensor::rand(s, dt, d, &gg).to_vector());
        CHECK(gc.offset() == gg.offset());
        // Normal draws go through log/cos/sqrt, which CUDA's libdevice and glibc may round
        // differently in the last bit.
        std::vector<double> a = Tensor::randn(s, dt, Device::cpu(), &gc).to_vector();
        std::vector<double> b = Tensor::randn(s, dt, d, &gg).to_vector();
        std::vector<double> ta =
            Tensor::trunc_normal(s, 0, 0.02, -0.04, 0.04, dt, Device::cpu(), &gc).to_vector();
        std::vector<double> tb =
            Tensor::trunc_normal(s, 0, 0.02, -0.04, 0.04, dt, d, &gg).to_vector();
        double rel = dt == DType::F64 ? 1e-14 : 1e-6;
        for (size_t i = 0; i < a.size(); ++i) {
            REQUIRE(a[i] == doctest::Approx(b[i]).epsilon(rel));
            REQUIRE(ta[i] == doctest::Approx(tb[i]).epsilon(rel));
        }
    }
}

TEST_CASE("cuda: moving tensors between devices keeps values, views included") {
    VG_REQUIRE_CUDA();
    Device d = Device::cuda();
    Tensor x = uniform({5, 7}, -3, 3, DType::F64);
    Tensor view = x.transpose(0, 1).narrow(0, 1, 4);  // non-contiguous, offset
    Tensor g = view.to(d);
    CHECK(g.device() == d);
    CHECK(g.to(d).storage() == g.storage());  // already there: no copy
    CHECK(g.cpu().to_vector() == view.to_vector());
    Tensor i = Tensor::from_vector_i64({3, -1, 5}, {3}, d);
    CHECK(i.to_vector_i64() == std::vector<int64_t>{3, -1, 5});
    // Strided device-side copy with a cast.
    Tensor f = Tensor::empty({4, 5}, DType::F32, d);
    f.copy_(g);
    CHECK(f.cpu().to_vector() == view.to(DType::F32).to_vector());
}

#if VG_WITH_CUDA
TEST_CASE("cuda: TF32 and synchronous-debug switches") {
    VG_REQUIRE_CUDA();
    Device d = Device::cuda();
    Tensor a = uniform({64, 64}, -1, 1, DType::F32, 3), b = uniform({64, 64}, -1, 1, DType::F32, 4);
    std::vector<double> want = matmul(a, b).to_vector();
    cuda::set_allow_tf32(true);
    std::vector<double> fast = matmul(a.to(d), b.to(d)).to_vector();
    cuda::set_allow_tf32(false);
    for (size_t i = 0; i < want.size(); ++i)
        REQUIRE(fast[i] == doctest::Approx(want[i]).epsilon(2e-2).scale(8));

    bool was = cuda::sync_debug();
    cuda::set_sync_debug(true);
    CHECK(cuda::sync_debug());
    CHECK(sum(exp(a.to(d))).item() == doctest::Approx(sum(exp(a)).item()).epsilon(1e-5));
    cuda::set_sync_debug(was);
}
#endif
