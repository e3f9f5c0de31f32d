// CPU caching allocator: reuse by size class, statistics, and no fresh allocation in a steady
// forward+backward loop.
#include "core/allocator.h"
#include "tests/helpers.h"

using namespace vg;
using vg::test::uniform;

TEST_CASE("caching allocator reuses freed blocks and keeps statistics") {
    Allocator& a = cpu_allocator();
    CHECK(cpu_size_class(1) == 64);
    CHECK(cpu_size_class(65) == 128);
    CHECK(cpu_size_class((1 << 20) + 1) == size_t(2) << 20);
    size_t odd = 123456 + 64 * 7;  // an unusual size nothing else asks for
    void* p = a.allocate(odd);
    AllocatorStats s0 = a.stats();
    a.deallocate(p, odd);
    AllocatorStats s1 = a.stats();
    CHECK(s1.bytes_in_use == s0.bytes_in_use - int64_t(cpu_size_class(odd)));
    CHECK(s1.bytes_cached() >= int64_t(cpu_size_class(odd)));
    void* q = a.allocate(odd);
    CHECK(q == p);
    CHECK(a.stats().fresh_allocations == s0.fresh_allocations);
    a.deallocate(q, odd);
    // Large blocks are 2 MiB aligned (huge pages).
    void* big = a.allocate(3 << 20);
    CHECK(reinterpret_cast<uintptr_t>(big) % (2 << 20) == 0);
    a.deallocate(big, 3 << 20);
    CHECK(a.stats().peak_bytes_in_use >= a.stats().bytes_in_use);
}

TEST_CASE("a repeated forward+backward makes no fresh allocation after the first pass") {
    Tensor w = uniform({64, 32}, -1, 1, DType::F32).requires_grad_();
    Tensor x = uniform({16, 64}, -1, 1, DType::F32, 3);
    auto step = [&] {
        Tensor h = gelu(sum(mul(x.unsqueeze(2), w.unsqueeze(0)), {1}));  // [16, 32]
        Tensor loss = mean(mul(h, h));
        loss.backward();
        NoGradGuard ng;
        w.grad().zero_();
    };
    step();
    int64_t fresh = cpu_allocator().stats().fresh_allocations;
    step();
    step();
    CHECK(cpu_allocator().stats().fresh_allocations == fresh);
}
