// Sine-cosine position embeddings.
#include "nn/pos_embed.h"

#include <cmath>

namespace vg::nn {

Tensor sincos_pos_embed_2d(int64_t S, int64_t D, SinCosLayout layout, DType dtype) {
    const int64_t F = D / 4;
    if (S <= 0 || D <= 0 || D % 4 != 0)
        fail("sincos_pos_embed_2d", "grid {} must be positive and dim {} a positive multiple of 4",
             S, D);
    if (layout == SinCosLayout::SimpleViT && F < 2)
        fail("sincos_pos_embed_2d",
             "the SimpleViT layout needs dim >= 8 (its exponent divides "
             "by dim/4 - 1), got {}",
             D);
    const double denom = layout == SinCosLayout::Timm ? double(F) : double(F - 1);
    std::vector<double> omega(static_cast<size_t>(F));
    for (int64_t k = 0; k < F; ++k) omega[size_t(k)] = std::pow(10000.0, -double(k) / denom);
    std::vector<double> v(size_t(S * S * D));
    for (int64_t n = 0; n < S * S; ++n) {
        const double row = double(n / S), col = double(n % S);
        double* out = &v[size_t(n * D)];
        for (int64_t k = 0; k < F; ++k) {
            const double r = row * omega[size_t(k)], c = col * omega[size_t(k)];
            if (layout == SinCosLayout::Timm) {
                out[k] = std::sin(r), out[F + k] = std::sin(c);
                out[2 * F + k] = std::cos(r), out[3 * F + k] = std::cos(c);
            } else {
                out[k] = std::sin(c), out[F + k] = std::cos(c);
                out[2 * F + k] = std::sin(r), out[3 * F + k] = std::cos(r);
            }
        }
    }
    return Tensor::from_vector(v, {S * S, D}, dtype);
}

}  // namespace vg::nn
