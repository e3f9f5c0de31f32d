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

std::vector<double> nonlocality(const Tensor& attn_in, bool has_cls) {
    NoGradGuard ng;
    Tensor a = attn_in.detach().to(DType::F64).cpu();
    if (a.dim() == 3) a = a.unsqueeze(0);
    if (a.dim() != 4 || a.size(2) != a.size(3))
        fail("nonlocality", "expected attention [B, H, T, T] or [H, T, T], got {}", attn_in.desc());
    if (has_cls) a = a.narrow(2, 1, a.size(2) - 1).narrow(3, 1, a.size(3) - 1);
    const int64_t B = a.size(0), H = a.size(1), N = a.size(2), S = grid_side(N, "nonlocality");
    std::vector<double> dist(size_t(N * N));
    for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < N; ++j)
            dist[size_t(i * N + j)] = std::hypot(double(j % S - i % S), double(j / S - i / S));
    std::vector<double> vals = a.contiguous().to_vector();
    std::vector<double> out(size_t(H), 0.0);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h) {
            const double* m = &vals[size_t((b * H + h) * N * N)];
            double s = 0;
            for (int64_t k = 0; k < N * N; ++k) s += m[k] * dist[size_t(k)];
            out[size_t(h)] += s / double(N * B);
        }
    return out;
}

std::vector<double> attention_centre_distance(const Tensor& w) {
    if (w.dim() != 2 || w.size(1) != 3)
        fail("attention_centre_distance", "expected pos_proj.weight [H, 3], got {}", w.desc());
    std::vector<double> v = w.detach().cpu().contiguous().to_vector(), out;
    for (int64_t h = 0; h < w.size(0); ++h) {
        double wx = v[size_t(h * 3)], wy = v[size_t(h * 3 + 1)], wd = v[size_t(h * 3 + 2)];
        double span = -1.0 / wd;
        out.push_back(std::hypot(wx * span / 2, wy * span / 2));
    }
    return out;
}

}  // namespace vg::nn
