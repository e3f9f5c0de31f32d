// The caching pool that both the CPU and the CUDA allocators run, over a fake system allocator
// with a byte budget: reuse by size class, statistics, peak, empty_cache, and the empty-cache-and-
// retry on out-of-memory that a GPU reaches only when it is full.
#include <set>
#include <thread>

#include "core/caching_pool.h"
#include "tests/helpers.h"

using namespace vg;

namespace {

// Hands out `budget` bytes at most (nullptr beyond it, as cudaMalloc's out-of-memory answer);
// size classes are 64-byte multiples.
struct FakeSystem final : SystemMemory {
    struct Counters {
        int64_t allocs = 0, releases = 0, failures = 0, live_bytes = 0;
        std::set<void*> live;
    };
    FakeSystem(int64_t budget, Counters* c) : budget_(budget), c_(c) {}
    size_t size_class(size_t nbytes) const override {
        return (std::max<size_t>(nbytes, 1) + 63) / 64 * 64;
    }
    void* allocate(size_t size) override {
        if (c_->live_bytes + int64_t(size) > budget_) {
            ++c_->failures;
            return nullptr;
        }
        void* p = ::operator new(size);
        ++c_->allocs;
        c_->live_bytes += int64_t(size);
        c_->live.insert(p);
        return p;
    }
    void release(void* p, size_t size) override {
        CHECK(c_->live.erase(p) == 1);  // only blocks it handed out, each once
        ++c_->releases;
        c_->live_bytes -= int64_t(size);
        ::operator delete(p);
    }
    int64_t budget_;
    Counters* c_;
};

struct Pool {
    FakeSystem::Counters sys;
    CachingPool pool;
    explicit Pool(int64_t budget)
        : pool(std::make_unique<FakeSystem>(budget, &sys), "test_allocator", "fake:0") {}
};

}  // namespace

TEST_CASE("caching pool: a freed block is reused for any request of its size class") {
    Pool t(1 << 20);
    void* p = t.pool.allocate(100);  // class 128
    t.pool.deallocate(p, 100);
    CHECK(t.pool.allocate(120) == p);  // same class: from the cache
    CHECK(t.sys.allocs == 1);
    void* q = t.pool.allocate(129);  // class 192: a fresh block
    CHECK(q != p);
    CHECK(t.sys.allocs == 2);
    t.pool.deallocate(q, 129);
    t.pool.deallocate(p, 120);
    CHECK(t.sys.releases == 0);      // freeing keeps the blocks
    t.pool.deallocate(nullptr, 64);  // a no-op
    CHECK(t.pool.stats().bytes_in_use == 0);
}

TEST_CASE("caching pool: statistics, peak and empty_cache") {
    Pool t(1 << 20);
    void* a = t.pool.allocate(64);
    void* b = t.pool.allocate(1000);  // class 1024
    AllocatorStats s = t.pool.stats();
    CHECK(s.requests == 2);
    CHECK(s.fresh_allocations == 2);
    CHECK(s.bytes_in_use == 64 + 1024);
    CHECK(s.bytes_reserved == 64 + 1024);
    CHECK(s.peak_bytes_in_use == 64 + 1024);
    t.pool.deallocate(b, 1000);
    s = t.pool.stats();
    CHECK(s.bytes_in_use == 64);
    CHECK(s.bytes_cached() == 1024);
    CHECK(s.peak_bytes_in_use == 64 + 1024);
    t.pool.reset_peak();
    CHECK(t.pool.stats().peak_bytes_in_use == 64);
    t.pool.empty_cache();  // returns the cached block, not the one in use
    s = t.pool.stats();
    CHECK(t.sys.releases == 1);
    CHECK(t.sys.live.count(a) == 1);
    CHECK(s.bytes_reserved == 64);
    CHECK(s.bytes_cached() == 0);
    CHECK(s.requests == 2);
    t.pool.deallocate(a, 64);
}

TEST_CASE("caching pool: out of memory empties the cache and retries once") {
    Pool t(1024);
    void* a = t.pool.allocate(512);
    void* b = t.pool.allocate(256);
    t.pool.deallocate(b, 256);       // 768 held from the system, 256 of it cached
    void* c = t.pool.allocate(448);  // 768 + 448 > 1024: fails, the cache goes, the retry fits
    CHECK(c != nullptr);
    CHECK(t.sys.failures == 1);
    CHECK(t.sys.releases == 1);
    AllocatorStats s = t.pool.stats();
    CHECK(s.bytes_reserved == 512 + 448);
    CHECK(s.bytes_cached() == 0);
    CHECK(s.fresh_allocations == 3);
    t.pool.deallocate(c, 448);
    t.pool.deallocate(a, 512);
}

TEST_CASE("caching pool: out of memory after the retry is one error naming the sizes") {
    Pool t(1024);
    void* a = t.pool.allocate(512);
    void* b = t.pool.allocate(256);
    t.pool.deallocate(b, 256);
    CHECK_THROWS_WITH_AS(t.pool.allocate(600),
                         doctest::Contains("test_allocator: out of memory on fake:0: tried to "
                                           "allocate 640 B (600 bytes requested); 512 B in use, "
                                           "512 B reserved (the cache was emptied and the "
                                           "allocation retried)"),
                         Error);
    CHECK(t.sys.failures == 2);  // the first try and the retry
    AllocatorStats s = t.pool.stats();
    CHECK(s.bytes_in_use == 512);  // the failed request changed nothing else
    CHECK(s.fresh_allocations == 2);
    // With nothing cached there is nothing to retry with.
    CHECK_THROWS_WITH_AS(t.pool.allocate(4096), doctest::Contains("(nothing cached)"), Error);
    CHECK(t.sys.failures == 3);
    t.pool.deallocate(a, 512);
    CHECK(t.pool.allocate(1000) != nullptr);  // after the failures the pool still works
}

TEST_CASE("caching pool: blocks shared by threads are counted exactly") {
    Pool t(1 << 24);
    std::vector<std::thread> threads;
    for (int k = 0; k < 4; ++k)
        threads.emplace_back([&t, k] {
            for (int i = 0; i < 500; ++i) {
                size_t n = size_t(64 * (1 + (i + k) % 7));
                void* p = t.pool.allocate(n);
                t.pool.deallocate(p, n);
            }
        });
    for (auto& th : threads) th.join();
    AllocatorStats s = t.pool.stats();
    CHECK(s.requests == 2000);
    CHECK(s.bytes_in_use == 0);
    CHECK(s.fresh_allocations <= 4 * 7);  // at most one block per thread and size class
    CHECK(s.bytes_reserved == t.sys.live_bytes);
}

TEST_CASE("caching pool: destroying the pool returns its cache to the system") {
    FakeSystem::Counters sys;
    {
        CachingPool pool(std::make_unique<FakeSystem>(4096, &sys), "test_allocator", "fake:0");
        void* p = pool.allocate(100);
        pool.deallocate(p, 100);
    }
    CHECK(sys.allocs == 1);
    CHECK(sys.releases == 1);
    CHECK(sys.live.empty());
}
