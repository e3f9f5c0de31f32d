// Structured-init mathematics. The dense linear algebra (two D x D SVDs per head at most) runs
// once at initialisation, in float64, through Eigen.
#include "nn/structured_init.h"

#include <Eigen/Dense>
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/internals.h"

namespace vg::nn::sinit {

namespace {

using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Mat to_mat(const Tensor& t) {
    if (t.dim() != 2) fail("structured_init", "expected a matrix, got {}", t.desc());
    std::vector<double> v = t.detach().cpu().to(DType::F64).contiguous().to_vector();
    return Eigen::Map<Mat>(v.data(), t.size(0), t.size(1));
}

Tensor from_mat(const Mat& m) {
    std::vector<double> v(m.data(), m.data() + m.size());
    return Tensor::from_vector(v, {int64_t(m.rows()), int64_t(m.cols())}, DType::F64);
}

// Full SVD A = U diag(S) V^T with canonical signs.
struct Svd {
    Mat U, V;
    Eigen::VectorXd S;
};

// SVD signs are arbitrary: make each left vector's entry of largest magnitude (the first on ties)
// positive and flip its right vector with it, so results do not depend on the SVD library. Every
// product the inits use (Q_h K_h, L R) is unchanged by the flips.
void canonical_signs(Mat& u, Mat& v) {
    for (Eigen::Index c = 0; c < u.cols(); ++c) {
        Eigen::Index arg = 0;
        u.col(c).cwiseAbs().maxCoeff(&arg);
        if (u(arg, c) < 0) u.col(c) *= -1.0, v.col(c) *= -1.0;
    }
}

Svd svd(const Mat& a) {
    Eigen::BDCSVD<Mat> s(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
    if (s.info() != Eigen::Success) fail("structured_init", "the SVD did not converge");
    Svd out{s.matrixU(), s.matrixV(), s.singularValues()};
    canonical_signs(out.U, out.V);
    return out;
}

}  // namespace

Offset kernel_offset(int64_t k, int64_t f) {
    if (f <= 0 || k < 0 || k >= f * f)
        fail("kernel_offset", "tap {} is outside a {}x{} window", k, f, f);
    return {k / f - f / 2, k % f - f / 2};
}

std::vector<Offset> random_offsets(int64_t heads, int64_t f, Generator& gen) {
    if (heads <= 0 || f <= 0)
        fail("random_offsets", "heads {} and window {} must be positive", heads, f);
    Tensor u = Tensor::rand({heads}, DType::F64, Device::cpu(), &gen);
    std::vector<Offset> out;
    for (double x : u.to_vector())
        out.push_back(kernel_offset(std::min<int64_t>(int64_t(x * double(f * f)), f * f - 1), f));
    return out;
}

std::vector<Offset> fixed_offsets_3x3(int64_t heads) {
    static constexpr int64_t order[9] = {4, 1, 5, 3, 7, 0, 2, 6, 8};
    std::vector<Offset> out;
    for (int64_t h = 0; h < heads; ++h) out.push_back(kernel_offset(order[h % 9], 3));
    return out;
}

Tensor shift_targets(int64_t S, const std::vector<Offset>& offsets, DType dtype) {
    if (S <= 0 || offsets.empty())
        fail("shift_targets", "needs a positive grid and at least one head, got grid {}, {} heads",
             S, offsets.size());
    const int64_t N = S * S, H = int64_t(offsets.size());
    std::vector<double> v(size_t(H * N * N), 0.0);
    for (int64_t h = 0; h < H; ++h)
        for (int64_t r = 0; r < S; ++r)
            for (int64_t c = 0; c < S; ++c) {
                const int64_t r2 = r + offsets[size_t(h)].dy, c2 = c + offsets[size_t(h)].dx;
                if (r2 >= 0 && r2 < S && c2 >= 0 && c2 < S)
                    v[size_t((h * N + r * S + c) * N + r2 * S + c2)] = 1.0;
            }
    return Tensor::from_vector(v, {H, N, N}, dtype);
}

Tensor layer_norm_no_affine(const Tensor& x) {
    NoGradGuard ng;
    return layer_norm(x.detach(), Tensor(), Tensor(), 1e-5);
}

Tensor impulse_v2_logits(const Tensor& targets, const Tensor& noise, double scale) {
    if (targets.shape() != noise.shape())
        fail("impulse_v2_logits", "noise {} must have the targets' shape {}", noise.desc(),
             targets.desc());
    NoGradGuard ng;
    Tensor t = targets.to(DType::F64), e = noise.to(DType::F64);
    return t * scale + e * eq(t, Tensor::scalar(0.0, DType::F64)) * 3.0;
}

QKFactors impulse_v2_factors(const Tensor& pseudo_input, const Tensor& logits, int64_t r) {
    if (pseudo_input.dim() != 2 || logits.dim() != 3 || logits.size(1) != pseudo_input.size(0) ||
        logits.size(2) != pseudo_input.size(0))
        fail("impulse_v2_factors", "expected P [N, D] and logits [H, N, N], got {} and {}",
             pseudo_input.desc(), logits.desc());
    const Mat P = to_mat(pseudo_input);
    const int64_t D = P.cols(), H = logits.size(0);
    if (r <= 0 || r > D) fail("impulse_v2_factors", "rank {} must lie in [1, {}]", r, D);
    // Rank-r pseudo-inverse of P^T P through its SVD (as the released code: V diag(1/s) U^T).
    Svd g = svd(P.transpose() * P);
    // Relative to the largest: a LayerNormed P of width D has rank <= D - 1, up to rounding.
    if (!(g.S(r - 1) > g.S(0) * 1e-10))
        fail("impulse_v2_factors", "P^T P has rank below {} (singular value {} is {} of {})", r, r,
             g.S(r - 1), g.S(0));
    Eigen::VectorXd inv = Eigen::VectorXd::Zero(D);
    for (int64_t i = 0; i < r; ++i) inv(i) = 1.0 / g.S(i);
    const Mat p_inv = g.V * inv.asDiagonal() * g.U.transpose() * P.transpose();  // [D, N]
    std::vector<Tensor> qs, ks;
    for (int64_t h = 0; h < H; ++h) {
        Svd m = svd(p_inv * to_mat(logits.select(0, h)) * p_inv.transpose());
        const Eigen::VectorXd root = m.S.head(r).cwiseSqrt();
        Mat q = m.U.leftCols(r) * root.asDiagonal();                // [D, r]
        Mat k = (m.V.leftCols(r) * root.asDiagonal()).transpose();  // [r, D]
        qs.push_back(from_mat(q / q.norm()));
        ks.push_back(from_mat(k / k.norm()));
    }
    return {stack(qs, 0), stack(ks, 0)};
}

MimeticFactors mimetic_factors(const Tensor& Z, double alpha, double beta) {
    if (Z.dim() != 2 || Z.size(0) != Z.size(1))
        fail("mimetic_factors", "Z must be square, got {}", Z.desc());
    Mat a = alpha * to_mat(Z);
    a.diagonal().array() += beta;
    Svd s = svd(a);
    const Eigen::VectorXd root = s.S.cwiseSqrt();
    return {from_mat(s.U * root.asDiagonal()), from_mat(root.asDiagonal() * s.V.transpose())};
}

Tensor mimetic_noise(int64_t D, Generator& gen) {
    if (D <= 0) fail("mimetic_noise", "dim must be positive, got {}", D);
    const double bound = std::sqrt(3.0 / double(D));
    Tensor u = Tensor::rand({D, D}, DType::F64, Device::cpu(), &gen);
    return u * (2.0 * bound) - bound;
}

TargetFit target_fit(const Tensor& attn_in, const std::vector<Offset>& offsets) {
    Tensor a = attn_in.detach().cpu().to(DType::F64);
    if (a.dim() == 3) a = a.unsqueeze(0);
    if (a.dim() != 4 || a.size(2) != a.size(3) || a.size(1) != int64_t(offsets.size()))
        fail("target_fit", "expected attention [B, {}, N, N] or [{}, N, N], got {}", offsets.size(),
             offsets.size(), attn_in.desc());
    const int64_t B = a.size(0), H = a.size(1), N = a.size(2);
    const int64_t S = grid_side(N, "target_fit");
    std::vector<double> v = a.contiguous().to_vector();
    TargetFit fit{std::vector<double>(size_t(H), 0.0), std::vector<double>(size_t(H), 0.0)};
    for (int64_t h = 0; h < H; ++h) {
        const Offset o = offsets[size_t(h)];
        int64_t rows = 0;
        for (int64_t b = 0; b < B; ++b)
            for (int64_t i = 0; i < N; ++i) {
                const int64_t r = i / S + o.dy, c = i % S + o.dx;
                if (r < 0 || r >= S || c < 0 || c >= S) continue;
                const double* row = &v[size_t(((b * H + h) * N + i) * N)];
                double cy = 0, cx = 0;
                for (int64_t j = 0; j < N; ++j) {
                    cy += row[j] * double(j / S - i / S);
                    cx += row[j] * double(j % S - i % S);
                }
                fit.mass[size_t(h)] += row[r * S + c];
                fit.distance[size_t(h)] += std::hypot(cy - double(o.dy), cx - double(o.dx));
                ++rows;
            }
        if (rows > 0) fit.mass[size_t(h)] /= double(rows), fit.distance[size_t(h)] /= double(rows);
    }
    return fit;
}

}  // namespace vg::nn::sinit
