// GPSA against the values derived in docs/derivations/convit-init.md: relative indices, W_pos after
// the local init, the positional softmax and the gate at init, non-locality values, and the
// normalise step.
#include <cmath>

#include "nn/gpsa.h"
#include "tests/nn/nn_helpers.h"

using namespace vg;
using namespace vg::nn;
using namespace vg::test;

namespace {

// Q_pos[h, i, j] at init on an S x S grid: [H, N, N] as doubles.
std::vector<double> qpos_at_init(int64_t heads, int64_t S) {
    manual_seed(0);
    GPSA g(heads * 4, heads);
    g.to(DType::F64);
    return g.positional_attention(S * S).contiguous().to_vector();
}

double qpos(const std::vector<double>& q, int64_t S, int64_t h, int64_t qr, int64_t qc, int64_t kr,
            int64_t kc) {
    int64_t N = S * S;
    return q[size_t((h * N + qr * S + qc) * N + kr * S + kc)];
}

}  // namespace

TEST_CASE("GPSA: relative indices are (dx, dy, d^2), key minus query, row-major tokens") {
    Tensor r = rel_indices(9, DType::F64);  // 3 x 3 grid
    CHECK(r.shape() == Shape{9, 9, 3});
    for (int64_t i = 0; i < 9; ++i)
        for (int64_t j = 0; j < 9; ++j) {
            double dx = double(j % 3) - double(i % 3), dy = double(j / 3) - double(i / 3);
            CHECK(r.at({i, j, 0}) == dx);
            CHECK(r.at({i, j, 1}) == dy);
            CHECK(r.at({i, j, 2}) == dx * dx + dy * dy);
        }
    CHECK_THROWS_WITH_AS(rel_indices(8), doctest::Contains("not a perfect square"), Error);
}

TEST_CASE("GPSA: W_pos, W_v, b_pos and the gate after the local init (alpha = 1)") {
    manual_seed(1);
    GPSA g4(16, 4);
    CHECK(g4.pos_proj->weight.to_vector() ==
          std::vector<double>{-1, -1, -1, -1, 1, -1, 1, -1, -1, 1, 1, -1});
    GPSA g9(18, 9);
    CHECK(g9.pos_proj->weight.to_vector() == std::vector<double>{-2, -2, -1, -2, 0, -1, -2, 2, -1,
                                                                 0,  -2, -1, 0,  0, -1, 0,  2, -1,
                                                                 2,  -2, -1, 2,  0, -1, 2,  2, -1});
    CHECK(g9.pos_proj->bias.to_vector() == std::vector<double>(9, 0.0));
    std::vector<double> v = g4.v->weight.to_vector();
    for (int64_t i = 0; i < 16; ++i)
        for (int64_t j = 0; j < 16; ++j) CHECK(v[size_t(i * 16 + j)] == (i == j ? 1.0 : 0.0));
    CHECK(g4.gating_param.to_vector() == std::vector<double>(4, 1.0));
    // sigma(1) = 0.7310586: 73% positional, 27% content.
    Tensor x = uniform({2, 16, 16}, -1, 1, DType::F32, 3);
    AttentionInternals in;
    g4.forward(x, &in);
    for (double s : in.gate.to_vector()) CHECK(s == doctest::Approx(0.7310586).epsilon(1e-6));

    // alpha scales every row; the content weights stay trunc-normal: convit.py's local_init does
    // not zero W_qk, though the paper's Eq. 5 sets W_qry = W_key = 0.
    GPSA ga(16, 4, false, 0, 0, 0.1);
    CHECK(ga.pos_proj->weight.at({3, 2}) == doctest::Approx(-0.1));
    CHECK(max(abs(ga.qk->weight)).item() > 0.0);
    // Attention centres (reference main.py): sqrt(0.5) for every head at H = 4; 0, 1, sqrt 2 at H
    // = 9.
    for (double d : attention_centre_distance(g4.pos_proj->weight))
        CHECK(d == doctest::Approx(std::sqrt(0.5)));
    std::vector<double> c9 = attention_centre_distance(g9.pos_proj->weight);
    std::vector<double> want9{std::sqrt(2.0), 1, std::sqrt(2.0), 1, 0, 1,
                              std::sqrt(2.0), 1, std::sqrt(2.0)};
    for (size_t h = 0; h < 9; ++h) CHECK(c9[h] == doctest::Approx(want9[h]).epsilon(1e-12));
}

TEST_CASE("GPSA: positional attention at init matches the derived values") {
    const int64_t S = 8;
    std::vector<double> q9 = qpos_at_init(9, S);
    // Interior query (3, 3): head h = h1 + 3 h2 centres on offset (dx, dy) = (h2 - 1, h1 - 1).
    for (int64_t h1 = 0; h1 < 3; ++h1)
        for (int64_t h2 = 0; h2 < 3; ++h2) {
            int64_t h = h1 + 3 * h2, kr = 3 + (h1 - 1), kc = 3 + (h2 - 1);
            CHECK(qpos(q9, S, h, 3, 3, kr, kc) == doctest::Approx(0.3182).epsilon(2e-4));
            CHECK(qpos(q9, S, h, 3, 3, kr + 1, kc) == doctest::Approx(0.1171).epsilon(5e-4));
            CHECK(qpos(q9, S, h, 3, 3, kr, kc - 1) == doctest::Approx(0.1171).epsilon(5e-4));
        }
    // 1/theta^2 with theta = sum_n exp(-n^2), as an independent formula.
    double theta = 0;
    for (int n = -20; n <= 20; ++n) theta += std::exp(-double(n * n));
    CHECK(qpos(q9, S, 4, 4, 4, 4, 4) == doctest::Approx(1.0 / (theta * theta)).epsilon(1e-3));
    // Corner query (token 0): self weights per head.
    std::vector<double> corner9{0.9068, 0.6869, 0.1997, 0.6869, 0.5203,
                                0.1513, 0.1997, 0.1513, 0.0440};
    for (int64_t h = 0; h < 9; ++h)
        CHECK(qpos(q9, S, h, 0, 0, 0, 0) == doctest::Approx(corner9[size_t(h)]).epsilon(1e-3));

    std::vector<double> q4 = qpos_at_init(4, S);
    // Interior, H = 4: each cell of the head's 2 x 2 block gets 0.1931.
    for (int64_t h1 = 0; h1 < 2; ++h1)
        for (int64_t h2 = 0; h2 < 2; ++h2) {
            int64_t h = h1 + 2 * h2;
            int64_t r0 = 3 + (h1 == 0 ? -1 : 0), c0 = 3 + (h2 == 0 ? -1 : 0);
            for (int64_t dr = 0; dr < 2; ++dr)
                for (int64_t dc = 0; dc < 2; ++dc)
                    CHECK(qpos(q4, S, h, 3, 3, r0 + dr, c0 + dc) ==
                          doctest::Approx(0.1931).epsilon(5e-4));
        }
    std::vector<double> corner4{0.7724, 0.4111, 0.4111, 0.2188};
    for (int64_t h = 0; h < 4; ++h)
        CHECK(qpos(q4, S, h, 0, 0, 0, 0) == doctest::Approx(corner4[size_t(h)]).epsilon(1e-3));
}

TEST_CASE("non-locality (ConViT Eq. 8): uniform maps and Q_pos at init") {
    for (auto [S, want] :
         std::vector<std::pair<int64_t, double>>{{8, 4.1365}, {14, 7.2808}, {16, 8.3261}}) {
        int64_t N = S * S;
        Tensor u = Tensor::full({1, 2, N, N}, 1.0 / double(N), DType::F64);
        for (double d : nonlocality(u)) CHECK(d == doctest::Approx(want).epsilon(2e-5));
        // The class token's row and column are left out.
        Tensor uc = Tensor::full({1, 1, N + 1, N + 1}, 1.0 / double(N), DType::F64);
        CHECK(nonlocality(uc, true)[0] == doctest::Approx(want).epsilon(2e-5));
    }
    auto per_head = [](int64_t H, int64_t S) {
        std::vector<double> q = qpos_at_init(H, S);
        return nonlocality(Tensor::from_vector(q, {H, S * S, S * S}, DType::F64));
    };
    for (double d : per_head(4, 8)) CHECK(d == doctest::Approx(0.9374).epsilon(1e-4));
    for (double d : per_head(4, 16)) CHECK(d == doctest::Approx(0.9940).epsilon(1e-4));
    for (auto [S, corner, edge, centre] : std::vector<std::tuple<int64_t, double, double, double>>{
             {8, 1.3945, 1.0981, 0.7292}, {16, 1.4993, 1.1768, 0.7644}}) {
        std::vector<double> d = per_head(9, S);
        for (int h : {0, 2, 6, 8}) CHECK(d[size_t(h)] == doctest::Approx(corner).epsilon(1e-4));
        for (int h : {1, 3, 5, 7}) CHECK(d[size_t(h)] == doctest::Approx(edge).epsilon(1e-4));
        CHECK(d[4] == doctest::Approx(centre).epsilon(1e-4));
    }
    CHECK_THROWS_WITH_AS(nonlocality(Tensor::zeros({2, 3, 4})), doctest::Contains("nonlocality"),
                         Error);
}

TEST_CASE("GPSA: internals are the gated mix of a batch-independent positional map") {
    manual_seed(2);
    GPSA g(8, 4);
    g.to(DType::F64);
    perturb(g, 0.5, 3);
    Tensor x = uniform({3, 9, 8}, -1, 1, DType::F64, 4);
    AttentionInternals in;
    Tensor y = g.forward(x, &in);
    CHECK(y.to_vector() == g.forward(x).to_vector());
    CHECK(in.positional.shape() == Shape{1, 4, 9, 9});  // computed once for the whole batch
    CHECK(in.content.shape() == Shape{3, 4, 9, 9});
    CHECK(in.attn.shape() == Shape{3, 4, 9, 9});
    Tensor gate = in.gate.reshape({1, 4, 1, 1});
    Tensor mix = (1.0 - gate) * in.content + gate * in.positional;
    CHECK(max(abs(mix - in.attn)).item() < 1e-14);
    CHECK(max(abs(sum(in.attn, {-1}) - 1.0)).item() < 1e-14);
    CHECK(max(abs(sum(in.content, {-1}) - 1.0)).item() < 1e-14);
    CHECK(max(abs(in.gate - sigmoid(g.gating_param.detach()))).item() == 0.0);
}

TEST_CASE("GPSA: the normalise step changes neither the output nor the gradients") {
    manual_seed(3);
    GPSA g(8, 4);
    g.to(DType::F64);
    perturb(g, 0.5, 5);
    Tensor x = uniform({2, 4, 8}, -1, 1, DType::F64, 6);
    Tensor w = uniform({2, 4, 8}, -1, 1, DType::F64, 7);
    auto run = [&](bool normalize) {
        g.normalize = normalize;
        g.zero_grad();
        Tensor y = g.forward(x);
        sum(y * w).backward();
        std::vector<std::vector<double>> out{y.to_vector()};
        for (Tensor* t : {&g.gating_param, &g.qk->weight, &g.pos_proj->weight, &g.pos_proj->bias})
            out.push_back(t->grad().to_vector());
        return out;
    };
    auto with = run(true), without = run(false);
    for (size_t k = 0; k < with.size(); ++k)
        for (size_t i = 0; i < with[k].size(); ++i)
            CHECK(with[k][i] == doctest::Approx(without[k][i]).epsilon(1e-12));
    // b_pos shifts every row of the positional logits equally, so its gradient vanishes.
    for (double v : with[4]) CHECK(std::fabs(v) < 1e-14);
    g.normalize = true;
}
