// The fused CPU attention against the same attention composed here from split heads, matmul,
// softmax and gated_mix, at the model's own shapes (where the kernel's register blocks, padded
// columns and tail rows all come into play), plus its thread-count independence and errors.
#include <omp.h>

#include "autograd/ops.h"
#include "tests/helpers.h"

using namespace vg;
using namespace vg::test;

namespace {

struct Case {
    int64_t B, T, H, d;
    bool separate_v, gated, normalize;
};

// Columns [col, col + H d) of x [B, T, W] as [B, H, T, d].
Tensor split(const Tensor& x, int64_t col, const Case& c) {
    return x.narrow(2, col, c.H * c.d).reshape({c.B, c.T, c.H, c.d}).permute({0, 2, 1, 3});
}

Tensor composed(const Tensor& qk, const Tensor& v, const Tensor& pos, const Tensor& gate,
                double scale, const Case& c) {
    const int64_t C = c.H * c.d;
    Tensor s = matmul(split(qk, 0, c), split(qk, C, c).transpose(-1, -2)) * scale;
    Tensor maps = softmax(s, -1);
    if (c.gated) maps = gated_mix(maps, pos, gate, c.normalize);
    Tensor o = matmul(maps, c.separate_v ? split(v, 0, c) : split(qk, 2 * C, c));
    return o.permute({0, 2, 1, 3}).reshape({c.B, c.T, C});
}

struct Result {
    std::vector<std::vector<double>> values;  // output, then d(qk), d(v), d(pos), d(gate)
};

enum class Path { Fused, OpComposite, ComposedHere };

Result run(const Case& c, DType dt, Path path) {
    const int64_t C = c.H * c.d;
    const double scale = 1.0 / std::sqrt(double(c.d));
    Tensor qk = uniform({c.B, c.T, (c.separate_v ? 2 : 3) * C}, -1.5, 1.5, dt, 3).requires_grad_();
    Tensor v = c.separate_v ? uniform({c.B, c.T, C}, -1, 1, dt, 4).requires_grad_() : Tensor();
    Tensor pos, gate;
    if (c.gated) {
        pos = softmax(uniform({c.H, c.T, c.T}, -2, 2, dt, 5), -1).detach().requires_grad_();
        gate = uniform({c.H}, 0.1, 0.9, dt, 6).requires_grad_();
    }
    Tensor out;
    if (path == Path::ComposedHere) {
        out = composed(qk, v, pos, gate, scale, c);
    } else {
        set_fused_cpu_attention(path == Path::Fused);
        out = multi_head_attention(qk, v, c.H, scale, pos, gate, c.normalize);
        set_fused_cpu_attention(true);
    }
    Tensor upstream = uniform(out.shape(), -1, 1, dt, 8);
    sum(out * upstream).backward();
    Result r;
    r.values.push_back(out.detach().to(DType::F64).to_vector());
    for (const Tensor* t : {&qk, &v, &pos, &gate})
        if (t->defined()) r.values.push_back(t->grad().to(DType::F64).to_vector());
    return r;
}

// max |a - b| / (1 + |b|) over every value: absolute near zero, relative on the larger sums.
double worst_difference(const Result& a, const Result& b) {
    REQUIRE(a.values.size() == b.values.size());
    double worst = 0;
    for (size_t i = 0; i < a.values.size(); ++i) {
        REQUIRE(a.values[i].size() == b.values[i].size());
        for (size_t j = 0; j < a.values[i].size(); ++j)
            worst = std::max(worst, std::abs(a.values[i][j] - b.values[i][j]) /
                                        (1.0 + std::abs(b.values[i][j])));
    }
    return worst;
}

// DeiT-Ti/4 (65 tokens, 3 heads of 64), ConViT-Ti/4's GPSA (64 tokens, 4 heads of 48), the micro
// configurations' heads of 24 (a padded vector), and odd sizes that leave tail rows everywhere.
const Case kCases[] = {
    {3, 65, 3, 64, false, false, true}, {5, 64, 4, 48, true, true, true},
    {2, 65, 4, 24, false, false, true}, {6, 64, 4, 24, true, true, true},
    {2, 17, 2, 48, true, true, false},  {1, 3, 5, 7, false, false, true},
    {5, 70, 1, 100, true, true, true},
};

}  // namespace

TEST_CASE("multi_head_attention: the fused CPU kernel equals the composed ops (float64, float32)") {
    for (const Case& c : kCases) {
        INFO("B ", c.B, " T ", c.T, " H ", c.H, " d ", c.d, " separate v ", c.separate_v, " gated ",
             c.gated, " normalize ", c.normalize);
        const Result fused64 = run(c, DType::F64, Path::Fused);
        CHECK(worst_difference(fused64, run(c, DType::F64, Path::ComposedHere)) < 1e-12);
        CHECK(worst_difference(run(c, DType::F32, Path::Fused),
                               run(c, DType::F32, Path::ComposedHere)) < 2e-5);
        // The op's own composite, which CUDA runs, is the same function.
        CHECK(worst_difference(fused64, run(c, DType::F64, Path::OpComposite)) < 1e-12);
    }
}

TEST_CASE("multi_head_attention: the same bits on one thread and on two") {
    const int threads = omp_get_max_threads();
    for (const Case& c : {kCases[1], kCases[3]}) {
        omp_set_num_threads(1);
        Result one = run(c, DType::F32, Path::Fused);
        omp_set_num_threads(2);
        Result two = run(c, DType::F32, Path::Fused);
        CHECK(worst_difference(one, two) == 0.0);
    }
    omp_set_num_threads(threads);
}

TEST_CASE("multi_head_attention: bad shapes name the op and the expected shape") {
    Tensor qkv = Tensor::zeros({2, 4, 12});
    auto throws = [](auto f, const char* text) {
        CHECK_THROWS_WITH_AS(f(), doctest::Contains(text), Error);
    };
    throws([&] { return multi_head_attention(qkv, {}, 5, 1.0); }, "multi_head_attention: qk");
    throws(
        [&] {
            return multi_head_attention(qkv.reshape({8, 12}), {}, 2, 1.0);
        },
        "qk must be [B, T, 2C] or [B, T, 3C]");
    throws(
        [&] {
            return multi_head_attention(qkv, Tensor::zeros({2, 4, 5}), 2, 1.0);
        },
        "v must be [2, 4, 6]");
    throws([&] { return multi_head_attention(qkv, {}, 0, 1.0); }, "heads must be positive");
    throws(
        [&] {
            return multi_head_attention(qkv, {}, 2, 1.0, Tensor::zeros({2, 4, 4}));
        },
        "pos and gate come together");
    throws(
        [&] {
            return multi_head_attention(qkv, {}, 2, 1.0, Tensor::zeros({2, 4, 3}),
                                        Tensor::zeros({2}));
        },
        "pos must be [2, 4, 4]");
    throws(
        [&] {
            return multi_head_attention(qkv, {}, 2, 1.0, Tensor::zeros({2, 4, 4}),
                                        Tensor::zeros({3}));
        },
        "gate must be [2]");
    throws(
        [&] {
            return multi_head_attention(qkv, Tensor::zeros({2, 4, 4}, DType::F64), 1, 1.0);
        },
        "multi_head_attention");
}
