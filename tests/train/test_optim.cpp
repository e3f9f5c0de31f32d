// Optimisers, the no-decay rule, the lr schedule and gradient clipping against formulas
// computed here in double.
#include <cmath>
#include <numbers>

#include "tests/helpers.h"
#include "train/optim/clip.h"
#include "train/optim/ema.h"
#include "train/optim/optim.h"
#include "train/optim/schedule.h"

using namespace vg;

namespace {

Tensor leaf(const std::vector<double>& v, const Shape& s, DType dt = DType::F64) {
    Tensor t = Tensor::from_vector(v, s, dt);
    t.requires_grad_();
    return t;
}

void set_grad(const Tensor& p, const std::vector<double>& g) {
    p.set_grad(Tensor::from_vector(g, p.shape(), p.dtype()));
}

}  // namespace

TEST_CASE("no-decay set follows the timm rule by name and shape") {
    Tensor w2 = Tensor::zeros({3, 4}), w1 = Tensor::zeros({4}), pe = Tensor::zeros({1, 5, 4});
    CHECK(wants_weight_decay("blocks.0.attn.qkv.weight", w2));
    CHECK_FALSE(wants_weight_decay("blocks.0.norm1.weight", w1));  // 1-D
    CHECK_FALSE(wants_weight_decay("head.bias", w1));
    CHECK_FALSE(wants_weight_decay("conv.bias", w2));  // by name even when not 1-D
    CHECK_FALSE(wants_weight_decay("pos_embed", pe));
    CHECK_FALSE(wants_weight_decay("cls_token", pe));
    CHECK_FALSE(wants_weight_decay("dist_token", pe));
    CHECK(wants_weight_decay("blocks.0.attn.pos_proj.weight", Tensor::zeros({4, 3})));
    CHECK_FALSE(wants_weight_decay("blocks.0.attn.pos_proj.bias", Tensor::zeros({4})));
    CHECK_FALSE(wants_weight_decay("blocks.0.attn.gating_param", Tensor::zeros({4})));
}

TEST_CASE("AdamW matches the PyTorch formula for 3 steps (decay and no-decay)") {
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
    std::vector<double> w0 = {0.5, -1.0, 2.0, 0.25}, b0 = {0.3, -0.7};
    Tensor w = leaf(w0, {2, 2}), b = leaf(b0, {2});
    AdamW opt({{"fc.weight", w}, {"fc.bias", b}}, {lr, b1, b2, eps, wd});
    std::vector<std::vector<double>> gw = {
        {0.1, -0.2, 0.3, 0.05}, {-0.4, 0.1, 0.0, 0.2}, {0.2, 0.2, -0.1, -0.3}};
    std::vector<std::vector<double>> gb = {{1.0, -0.5}, {0.5, 0.25}, {-1.0, 2.0}};

    // Reference in double: p *= 1 - lr*wd; m, v; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) +
    // eps)
    auto reference = [&](std::vector<double> p, const std::vector<std::vector<double>>& gs,
                         double decay) {
        std::vector<double> m(p.size(), 0), v(p.size(), 0);
        for (int t = 1; t <= 3; ++t)
            for (size_t i = 0; i < p.size(); ++i) {
                double g = gs[t - 1][i];
                p[i] *= 1 - lr * decay;
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double denom = std::sqrt(v[i]) / std::sqrt(1 - std::pow(b2, t)) + eps;
                p[i] -= lr / (1 - std::pow(b1, t)) * m[i] / denom;
            }
        return p;
    };
    for (int t = 0; t < 3; ++t) {
        set_grad(w, gw[t]);
        set_grad(b, gb[t]);
        opt.step();
    }
    std::vector<double> ew = reference(w0, gw, wd), eb = reference(b0, gb, 0.0);
    for (size_t i = 0; i < ew.size(); ++i)
        CHECK(w.to_vector()[i] == doctest::Approx(ew[i]).epsilon(1e-12));
    for (size_t i = 0; i < eb.size(); ++i)
        CHECK(b.to_vector()[i] == doctest::Approx(eb[i]).epsilon(1e-12));
    CHECK(opt.step_count() == 3);

    // State round trip: a fresh optimiser loaded from the state continues identically.
    Tensor w2 = leaf(w.to_vector(), {2, 2}), b2t = leaf(b.to_vector(), {2});
    AdamW opt2({{"fc.weight", w2}, {"fc.bias", b2t}}, {lr, b1, b2, eps, wd});
    opt2.load_state(opt.state());
    for (auto* o : {static_cast<Optimizer*>(&opt), static_cast<Optimizer*>(&opt2)}) {
        for (auto& [n, p] : o->params()) set_grad(p, std::vector<double>(p.numel(), 0.3));
        o->step();
    }
    CHECK(w2.to_vector() == w.to_vector());
    CHECK(b2t.to_vector() == b.to_vector());
}

TEST_CASE("AdamW load_state rejects mismatching state") {
    Tensor w = leaf({1, 2, 3, 4}, {2, 2});
    AdamW opt({{"w", w}}, {});
    OptimizerState s = opt.state();
    s.tensors.erase("exp_avg.w");
    CHECK_THROWS_WITH_AS(opt.load_state(s), doctest::Contains("exp_avg.w"), vg::Error);
    s = opt.state();
    s.tensors["exp_avg.w"] = Tensor::zeros({3});
    CHECK_THROWS_WITH_AS(opt.load_state(s), doctest::Contains("AdamW::load_state"), vg::Error);
    s.kind = "sgd";
    CHECK_THROWS_WITH_AS(opt.load_state(s), doctest::Contains("not adamw"), vg::Error);
    Tensor nl = Tensor::zeros({2});
    CHECK_THROWS_WITH_AS(AdamW({{"x", nl}}, {}), doctest::Contains("requires grad"), vg::Error);
}

TEST_CASE("SGD with momentum, nesterov and coupled weight decay") {
    const double lr = 0.1, mu = 0.9, wd = 0.01;
    for (bool nesterov : {false, true}) {
        CAPTURE(nesterov);
        Tensor w = leaf({1.0, -2.0}, {1, 2});
        Sgd opt({{"w", w}}, {lr, mu, 0.0, wd, nesterov});
        std::vector<double> p = {1.0, -2.0}, buf(2, 0);
        std::vector<std::vector<double>> gs = {{0.5, 0.1}, {-0.2, 0.3}, {0.4, -0.6}};
        for (int t = 0; t < 3; ++t) {
            set_grad(w, gs[t]);
            opt.step();
            for (int i = 0; i < 2; ++i) {
                double g = gs[t][i] + wd * p[i];
                buf[i] = t == 0 ? g : mu * buf[i] + g;
                p[i] -= lr * (nesterov ? g + mu * buf[i] : buf[i]);
            }
        }
        CHECK(w.to_vector()[0] == doctest::Approx(p[0]).epsilon(1e-12));
        CHECK(w.to_vector()[1] == doctest::Approx(p[1]).epsilon(1e-12));
    }
    Tensor w = leaf({1.0}, {1});
    CHECK_THROWS_WITH_AS(Sgd({{"w", w}}, {0.1, 0.0, 0.0, 0.0, true}), doctest::Contains("nesterov"),
                         vg::Error);
}

TEST_CASE("cosine schedule values at key steps") {
    ScheduleOptions o;
    o.lr = 1e-3;
    o.warmup_lr = 1e-6;
    o.min_lr = 1e-5;
    o.warmup_epochs = 5;
    o.epochs = 100;
    auto cosine = [&](double t) {
        return 1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + std::cos(std::numbers::pi * t / 100));
    };
    CosineSchedule per_epoch(o);
    // timm: epochs 0 and 1 use sched(0), epoch e >= 1 uses sched(e - 1).
    CHECK(per_epoch.lr_at(0, 7, 10) == doctest::Approx(1e-6));
    CHECK(per_epoch.lr_at(1, 0, 10) == doctest::Approx(1e-6));
    CHECK(per_epoch.lr_at(3, 0, 10) == doctest::Approx(1e-6 + 2 * (1e-3 - 1e-6) / 5));
    CHECK(per_epoch.lr_at(6, 0, 10) == doctest::Approx(cosine(5)));  // absolute t, no prefix
    CHECK(per_epoch.lr_at(51, 0, 10) == doctest::Approx(cosine(50)));
    CHECK(per_epoch.lr_at(101, 0, 10) == doctest::Approx(1e-5));

    o.timm_epoch_offset = false;
    CHECK(CosineSchedule(o).lr_at(3, 0, 10) == doctest::Approx(1e-6 + 3 * (1e-3 - 1e-6) / 5));

    o.per_step = true;
    CosineSchedule per_step(o);
    CHECK(per_step.lr_at(0, 0, 10) == doctest::Approx(1e-6));
    CHECK(per_step.lr_at(2, 5, 10) == doctest::Approx(1e-6 + 25 * (1e-3 - 1e-6) / 50));
    CHECK(per_step.lr_at(5, 0, 10) == doctest::Approx(cosine(5)));
    CHECK(per_step.lr_at(30, 3, 10) == doctest::Approx(cosine(30.3)));
}

TEST_CASE("global-norm gradient clipping") {
    Tensor a = leaf({3, 0}, {2}), b = leaf({0, 0, 4}, {3}), c = leaf({1}, {1});
    set_grad(a, {3, 0});
    set_grad(b, {0, 0, 4});  // c has no gradient and is skipped
    CHECK(global_grad_norm({a, b, c}) == doctest::Approx(5.0));
    CHECK(clip_grad_norm({a, b, c}, 10.0) == doctest::Approx(5.0));
    CHECK(a.grad().to_vector()[0] == 3.0);  // below the limit: untouched
    CHECK(clip_grad_norm({a, b, c}, 1.0) == doctest::Approx(5.0));
    double s = 1.0 / (5.0 + 1e-6);
    CHECK(a.grad().to_vector()[0] == doctest::Approx(3 * s));
    CHECK(b.grad().to_vector()[2] == doctest::Approx(4 * s));
    CHECK(global_grad_norm({a, b}) == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("EMA of weights and buffers") {
    Tensor p = Tensor::from_vector({1.0, 2.0}, {2}, DType::F64);
    Ema ema({{"w", p}}, 0.9);
    p.copy_(Tensor::from_vector({3.0, 4.0}, {2}, DType::F64));
    ema.update({{"w", p}});
    CHECK(ema.shadow()[0].second.to_vector()[0] == doctest::Approx(0.9 * 1 + 0.1 * 3));
    CHECK(ema.shadow()[0].second.to_vector()[1] == doctest::Approx(0.9 * 2 + 0.1 * 4));
    CHECK_THROWS_WITH_AS(ema.update({{"v", p}}), doctest::Contains("Ema::update"), vg::Error);
}
