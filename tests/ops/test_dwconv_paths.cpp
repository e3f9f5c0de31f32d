// The direct depthwise kernels on the narrow maps where they pick their small-map paths (a dense
// per-channel matrix, several channels per vector; 8-wide tiles; taps that read only padding
// skipped; several output rows per pass): forward, input and weight gradients against loops written
// here, for FCViT's 11x11 / pad 5 and 3x3 / pad 1 and for paddings that put the image partly
// outside the kernel's reach; results bitwise the same on 1 and 2 threads; an inf reaches only the
// outputs its kernel reaches.
#include <omp.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "tests/helpers.h"

using namespace vg;
using namespace vg::test;

namespace {

struct Geo {
    int64_t B, C, H, W, k, p;
    int64_t Ho() const { return H + 2 * p - k + 1; }
    int64_t Wo() const { return W + 2 * p - k + 1; }
};

// y, dx and dw of a depthwise convolution (stride 1) by the definition, in double.
struct Naive {
    std::vector<double> y, dx, dw;
};

Naive naive_depthwise(const Geo& g, const Tensor& x, const Tensor& w, const Tensor& b,
                      const Tensor& dy) {
    std::vector<double> xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector(),
                        gv = dy.to_vector();
    const int64_t Ho = g.Ho(), Wo = g.Wo(), K = g.k * g.k;
    Naive n{std::vector<double>(size_t(g.B * g.C * Ho * Wo)),
            std::vector<double>(size_t(g.B * g.C * g.H * g.W)),
            std::vector<double>(size_t(g.C * K))};
    for (int64_t bi = 0; bi < g.B; ++bi)
        for (int64_t c = 0; c < g.C; ++c)
            for (int64_t i = 0; i < Ho; ++i)
                for (int64_t j = 0; j < Wo; ++j) {
                    const size_t o = size_t(((bi * g.C + c) * Ho + i) * Wo + j);
                    n.y[o] = bv[size_t(c)];
                    for (int64_t ki = 0; ki < g.k; ++ki)
                        for (int64_t kj = 0; kj < g.k; ++kj) {
                            const int64_t h = i - g.p + ki, v = j - g.p + kj;
                            if (h < 0 || h >= g.H || v < 0 || v >= g.W) continue;
                            const size_t q = size_t(((bi * g.C + c) * g.H + h) * g.W + v);
                            const size_t t = size_t((c * g.k + ki) * g.k + kj);
                            n.y[o] += wv[t] * xv[q];
                            n.dx[q] += wv[t] * gv[o];
                            n.dw[t] += gv[o] * xv[q];
                        }
                }
    return n;
}

// A small geometry of each kind: channel counts that do not fill the last group of several
// channels per vector, odd widths, 1x1 maps, paddings other than (k - 1) / 2.
const Geo kGeos[] = {
    {3, 5, 1, 1, 11, 5},   // 1x1: 16 channels per vector, 5 of them
    {2, 7, 2, 2, 11, 5},   // FCViT stage 4
    {2, 3, 3, 5, 11, 5},   //
    {2, 6, 4, 4, 11, 5},   // FCViT stage 3
    {2, 3, 5, 7, 11, 5},   //
    {2, 3, 8, 8, 11, 5},   // FCViT stage 2
    {2, 2, 9, 13, 11, 5},  //
    {2, 9, 2, 2, 3, 1},    // FCViT's MLP, stage 4
    {2, 5, 3, 5, 3, 1},    //
    {2, 6, 4, 4, 3, 1},    // FCViT's MLP, stage 3
    {2, 3, 7, 7, 3, 1},    //
    {2, 3, 8, 8, 3, 1},    // FCViT's MLP, stage 2
    {2, 3, 3, 5, 3, 0},    // no padding: 1x3 output
    {2, 3, 2, 3, 3, 3},    // padding beyond the kernel: dy reaches outside dx's frame
    {2, 3, 4, 4, 5, 4},    //
    // Direct path, several output rows per pass: row counts that leave a remainder (8 rows per
    // pass in float, 4 in double), a partial last tile, the unrolled 3x3 and the general kernel.
    {2, 3, 11, 19, 3, 1},   //
    {1, 2, 9, 65, 3, 1},    // Refiner's 65-wide rows
    {2, 2, 17, 18, 11, 5},  // taps skipped for the rows of a pass together
    {2, 2, 13, 16, 5, 2},   //
};

}  // namespace

TEST_CASE("depthwise conv2d on narrow maps: forward and both gradients equal the definition") {
    for (const Geo& g : kGeos) {
        for (DType dt : {DType::F64, DType::F32}) {
            INFO("B ", g.B, " C ", g.C, " ", g.H, "x", g.W, " k ", g.k, " p ", g.p, " ",
                 dtype_name(dt));
            Tensor x = uniform({g.B, g.C, g.H, g.W}, -1, 1, dt, 11).requires_grad_();
            Tensor w = uniform({g.C, 1, g.k, g.k}, -1, 1, dt, 12).requires_grad_();
            Tensor b = uniform({g.C}, -1, 1, dt, 13).requires_grad_();
            Tensor dy = uniform({g.B, g.C, g.Ho(), g.Wo()}, -1, 1, dt, 14);
            Tensor y = conv2d(x, w, b, 1, g.p, g.C);
            y.backward(dy);
            const Naive want = naive_depthwise(g, x.detach(), w.detach(), b.detach(), dy);
            const double tol = dt == DType::F64 ? 1e-12 : 2e-5;
            check_close(y.to_vector(), want.y, tol * g.k);
            check_close(x.grad().to_vector(), want.dx, tol * g.k);
            check_close(w.grad().to_vector(), want.dw, tol * double(g.B * g.H * g.W));
        }
    }
}

TEST_CASE("depthwise conv2d on narrow maps: the same bits on 1 and 2 threads") {
    // Large enough to be split over the threads on every path.
    for (const Geo& g : {Geo{8, 40, 4, 4, 11, 5}, Geo{8, 96, 2, 2, 11, 5}, Geo{8, 16, 8, 8, 11, 5},
                         Geo{8, 32, 16, 16, 11, 5}, Geo{8, 64, 8, 8, 3, 1}, Geo{8, 64, 4, 4, 3, 1},
                         Geo{8, 16, 11, 19, 3, 1}}) {
        for (DType dt : {DType::F32, DType::F64}) {
            INFO("B ", g.B, " C ", g.C, " ", g.H, "x", g.W, " k ", g.k, " ", dtype_name(dt));
            auto run = [&](int threads) {
                const int before = omp_get_max_threads();
                omp_set_num_threads(threads);
                Tensor x = uniform({g.B, g.C, g.H, g.W}, -1, 1, dt, 21).requires_grad_();
                Tensor w = uniform({g.C, 1, g.k, g.k}, -1, 1, dt, 22).requires_grad_();
                Tensor b = uniform({g.C}, -1, 1, dt, 23);
                Tensor y = conv2d(x, w, b, 1, g.p, g.C);
                y.backward(uniform({g.B, g.C, g.Ho(), g.Wo()}, -1, 1, dt, 24));
                omp_set_num_threads(before);
                return std::vector<std::vector<double>>{y.to_vector(), x.grad().to_vector(),
                                                        w.grad().to_vector()};
            };
            const auto one = run(1), two = run(2);
            CHECK(one[0] == two[0]);
            CHECK(one[1] == two[1]);
            CHECK(one[2] == two[2]);
        }
    }
}

TEST_CASE("depthwise conv2d on narrow maps: an inf reaches only the outputs its kernel reaches") {
    // 2x2 maps share vectors across channels; 4x4 ones with a 3x3 kernel see part of the map.
    // Several planes go through the dense path together: the inf's plane and its neighbours.
    for (const Geo& g : {Geo{6, 4, 2, 2, 11, 5}, Geo{6, 2, 4, 4, 3, 1}}) {
        INFO(g.H, "x", g.W, " k ", g.k);
        Tensor x = uniform({g.B, g.C, g.H, g.W}, -1, 1, DType::F32, 31);
        Tensor w = uniform({g.C, 1, g.k, g.k}, -1, 1, DType::F32, 32);
        Tensor b = Tensor::zeros({g.C});
        std::vector<double> xv = x.to_vector();
        xv[0] = INFINITY;  // batch 0, channel 0, position (0, 0)
        x = Tensor::from_vector(xv, x.shape(), DType::F32);
        std::vector<double> y = conv2d(x, w, b, 1, g.p, g.C).to_vector();
        const Naive want = naive_depthwise(g, x, w, b, Tensor::zeros({g.B, g.C, g.Ho(), g.Wo()}));
        for (size_t o = 0; o < y.size(); ++o) {
            INFO("output ", o);
            const int64_t plane = int64_t(o) / (g.Ho() * g.Wo()), i = int64_t(o) / g.Wo() % g.Ho(),
                          j = int64_t(o) % g.Wo();
            const bool reached = plane == 0 && i <= g.p && j <= g.p;  // tap (p - i, p - j)
            CHECK(std::isfinite(y[o]) == !reached);
            if (!reached) CHECK(y[o] == doctest::Approx(want.y[o]).epsilon(1e-5));
        }
    }
}
