// Relative-position table and the attention-study measurements.
#include "nn/internals.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace vg::nn {

int64_t grid_side(int64_t n, const char* op) {
    if (n <= 0 || !math::is_square(n))
        fail(op, "the number of patch tokens {} is not a perfect square", n);
    return math::isqrt(n);
}

Tensor rel_indices(int64_t n, DType dtype, Device device) {
    const int64_t S = grid_side(n, "rel_indices");
    std::vector<double> v(size_t(n * n * 3));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double dx = double(j % S - i % S), dy = double(j / S - i / S);
            double* r = &v[size_t((i * n + j) * 3)];
            r[0] = dx;
            r[1] = dy;
            r[2] = dx * dx + dy * dy;
        }
    return Tensor::from_vector(v, {n, n, 3}, dtype).to(device);
}

namespace {

// The distance in patches between positions i and j (row-major) of an S x S grid.
double grid_distance(int64_t i, int64_t j, int64_t S) {
    return std::hypot(double(j % S - i % S), double(j / S - i / S));
}

// Per image and head of `attn_in` ([B, H, T, T] or [H, T, T]; the class token's row and column
// dropped when has_cls): f(sum_ij A_ij ||delta_ij||, sum_ij |A_ij| ||delta_ij||, sum_ij |A_ij|),
// averaged over the images.
template <class PerMap>
std::vector<double> distance_weighted(const char* op, const Tensor& attn_in, bool has_cls,
                                      PerMap per_map) {
    NoGradGuard ng;
    Tensor a = attn_in.detach().to(DType::F64).cpu();
    if (a.dim() == 3) a = a.unsqueeze(0);
    if (a.dim() != 4 || a.size(2) != a.size(3))
        fail(op, "expected attention [B, H, T, T] or [H, T, T], got {}", attn_in.desc());
    if (has_cls) a = a.narrow(2, 1, a.size(2) - 1).narrow(3, 1, a.size(3) - 1);
    const int64_t B = a.size(0), H = a.size(1), N = a.size(2), S = grid_side(N, op);
    std::vector<double> dist(size_t(N * N));
    for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < N; ++j) dist[size_t(i * N + j)] = grid_distance(i, j, S);
    std::vector<double> vals = a.contiguous().to_vector();
    std::vector<double> out(size_t(H), 0.0);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h) {
            const double* m = &vals[size_t((b * H + h) * N * N)];
            double signed_sum = 0, abs_sum = 0, mass = 0;
            for (int64_t k = 0; k < N * N; ++k) {
                signed_sum += m[k] * dist[size_t(k)];
                abs_sum += std::abs(m[k]) * dist[size_t(k)];
                mass += std::abs(m[k]);
            }
            out[size_t(h)] += per_map(signed_sum, abs_sum, mass, N) / double(B);
        }
    return out;
}

}  // namespace

std::vector<double> nonlocality(const Tensor& attn, bool has_cls) {
    return distance_weighted("nonlocality", attn, has_cls,
                             [](double s, double, double, int64_t n) { return s / double(n); });
}

std::vector<double> weighted_nonlocality(const Tensor& attn) {
    return distance_weighted(
        "weighted_nonlocality", attn, false,
        [](double, double s, double mass, int64_t) { return mass > 0 ? s / mass : 0.0; });
}

std::vector<double> context_nonlocality(const Tensor& maps) {
    NoGradGuard ng;
    Tensor a = maps.detach().to(DType::F64).cpu();
    if (a.dim() == 2) a = a.unsqueeze(0);
    if (a.dim() != 3)
        fail("context_nonlocality", "expected maps [B, G, N] or [G, N], got {}", maps.desc());
    const int64_t B = a.size(0), G = a.size(1), N = a.size(2);
    const int64_t S = grid_side(N, "context_nonlocality");
    // dbar_j: the mean distance from the N positions (the queries) to position j.
    std::vector<double> dbar(size_t(N), 0.0);
    for (int64_t j = 0; j < N; ++j) {
        for (int64_t i = 0; i < N; ++i) dbar[size_t(j)] += grid_distance(i, j, S);
        dbar[size_t(j)] /= double(N);
    }
    std::vector<double> vals = a.contiguous().to_vector();
    std::vector<double> out(size_t(G), 0.0);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t g = 0; g < G; ++g) {
            const double* m = &vals[size_t((b * G + g) * N)];
            double weighted = 0, mass = 0;
            for (int64_t j = 0; j < N; ++j) {
                weighted += std::abs(m[j]) * dbar[size_t(j)];
                mass += std::abs(m[j]);
            }
            out[size_t(g)] += (mass > 0 ? weighted / mass : 0.0) / double(B);
        }
    return out;
}

double uniform_nonlocality(int64_t side) {
    if (side <= 0) fail("uniform_nonlocality", "the grid side must be positive, got {}", side);
    // Offsets (dx, dy) occur (S - |dx|)(S - |dy|) times among the S^4 ordered pairs.
    double sum = 0;
    for (int64_t dx = -(side - 1); dx < side; ++dx)
        for (int64_t dy = -(side - 1); dy < side; ++dy)
            sum += double((side - std::abs(dx)) * (side - std::abs(dy))) *
                   std::hypot(double(dx), double(dy));
    const double n = double(side * side);
    return sum / (n * n);
}

std::vector<AttentionCentre> attention_centres(const Tensor& w) {
    if (w.dim() != 2 || w.size(1) != 3)
        fail("attention_centres", "expected pos_proj.weight [H, 3], got {}", w.desc());
    std::vector<double> v = w.detach().cpu().to(DType::F64).contiguous().to_vector();
    std::vector<AttentionCentre> out(size_t(w.size(0)));
    for (int64_t h = 0; h < w.size(0); ++h) {
        double wx = v[size_t(h * 3)], wy = v[size_t(h * 3 + 1)], wd = v[size_t(h * 3 + 2)];
        AttentionCentre& c = out[size_t(h)];
        if (!(wd < 0) || !std::isfinite(wx) || !std::isfinite(wy)) continue;
        const double span = -1.0 / wd;  // reference main.py's name for 1 / alpha
        c.alpha = -wd;
        c.dx = wx * span / 2;
        c.dy = wy * span / 2;
        c.distance = std::hypot(c.dx, c.dy);
        c.defined = std::isfinite(c.distance);
        if (!c.defined) c = AttentionCentre{};
    }
    return out;
}

std::vector<double> attention_centre_distance(const Tensor& w) {
    std::vector<double> out;
    for (const AttentionCentre& c : attention_centres(w)) out.push_back(c.distance);
    return out;
}

}  // namespace vg::nn
