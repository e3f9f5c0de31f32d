// The dense path of the CPU depthwise convolution (core/cpu/dwconv.cpp), for small maps: a
// plane's convolution as a small matrix (each output against each input: the tap linking them,
// or 0), built once per channel group and applied to the batch; and its weight gradient, which
// accumulates dy[o] x[q] per (output, input) pair and folds the pairs into taps.
#pragma once

#include "core/cpu/dwconv_frame.h"

namespace vg::cpu::dwconv {

// M [G nin, L] for channels [c0, c0 + g): row u nin + q, lane u nout + o holds the weight linking
// input q and output o of channel c0 + u. Lanes of other channels are 0 (block-diagonal).
template <typename T>
void build_dense(const Frame& f, const Dense& d, const T* ws, bool flip, int64_t c0, int64_t g,
                 T* M) {
    const int64_t K = f.kh * f.kw, nin = f.nin(), nout = f.nout();
    std::fill(M, M + d.matrix_size(f), T(0));
    for (int64_t u = 0; u < g; ++u)
        for (int64_t q = 0; q < nin; ++q)
            for (int64_t o = 0; o < nout; ++o)
                if (const int64_t t = f.tap(o, q); t >= 0)
                    M[(u * nin + q) * d.L + u * nout + o] =
                        ws[(c0 + u) * K + (flip ? K - 1 - t : t)];
}

// out[l] = bias[l] + sum_q M[q, l] in[q] for the n inputs of one channel group, in register lanes,
// for NB planes at once (strides `is` and `os` apart): NB independent FMA chains share each row of
// M. Each output's terms are added in the same order whatever NB is.
template <typename T, int64_t L, int64_t NB>
void dense_apply(const T* M, const T* bias, const T* in, int64_t is, int64_t n, T* out, int64_t os,
                 int64_t nout) {
    T acc[NB][L];
    for (int64_t b = 0; b < NB; ++b) std::copy(bias, bias + L, acc[b]);
    for (int64_t q = 0; q < n; ++q) {
        const T* m = M + q * L;
        for (int64_t b = 0; b < NB; ++b) {
            const T v = in[b * is + q];
#pragma omp simd
            for (int64_t l = 0; l < L; ++l) acc[b][l] += m[l] * v;
        }
    }
    for (int64_t b = 0; b < NB; ++b) std::copy(acc[b], acc[b] + nout, out + b * os);
}

// Planes per pass of dense_apply (and outputs per pass of weight_dense): accumulators of L lanes
// within about 8 float vectors.
constexpr int64_t dense_batch(int64_t L) { return L <= 32 ? 4 : 2; }

// False when some input is inf or NaN (0 * inf is NaN; any NaN makes the sum NaN).
template <typename T>
bool all_finite(const T* v, int64_t n) {
    T probe = 0;
#pragma omp simd reduction(+ : probe)
    for (int64_t i = 0; i < n; ++i) probe += v[i] * T(0);
    return probe == T(0);
}

// The dense sums without the matrix's structural zeros, for a channel group holding an inf or NaN:
// a non-finite input reaches only the outputs its kernel reaches, as on the direct path, instead
// of turning the whole group into NaN through 0 * inf. Same order of terms as dense_apply.
template <typename T>
void exact_group(const Frame& f, const T* ws, bool flip, const T* bias, int64_t c0, int64_t g,
                 const T* in, T* out) {
    const int64_t K = f.kh * f.kw, nin = f.nin(), nout = f.nout();
    for (int64_t u = 0; u < g; ++u)
        for (int64_t o = 0; o < nout; ++o) {
            T acc = bias ? bias[c0 + u] : T(0);
            for (int64_t q = 0; q < nin; ++q)
                if (const int64_t t = f.tap(o, q); t >= 0)
                    acc += ws[(c0 + u) * K + (flip ? K - 1 - t : t)] * in[u * nin + q];
            out[u * nout + o] = acc;
        }
}

// in [B, C, Hi, Wi] -> out [B, C, Ho, Wo] through the dense path. Tasks are (channel group, batch
// chunk) pairs, group-major, so a thread builds each group's matrix once.
template <typename T>
void dense_planes(const T* in, const T* ws, bool flip, const T* bias, const Frame& f, int64_t B,
                  int64_t C, T* out) {
    const Dense d(f);
    const int64_t nin = f.nin(), nout = f.nout(), msize = d.matrix_size(f);
    const int64_t groups = (C + d.G - 1) / d.G;
    const int64_t chunks = std::clamp<int64_t>(kTasks / groups, 1, std::max<int64_t>(B, 1));
    const int64_t per_chunk = (B + chunks - 1) / chunks;
    parallel_for(groups * chunks, task_grain(per_chunk * msize), [&](int64_t tb, int64_t te) {
        T* M = scratch<T>(size_t(msize + d.L));
        T* bias_lanes = M + msize;
        int64_t built = -1;
        for (int64_t t = tb; t < te; ++t) {
            const int64_t group = t / chunks, chunk = t % chunks;
            const int64_t c0 = group * d.G, g = std::min(d.G, C - c0);
            if (group != built) {
                build_dense(f, d, ws, flip, c0, g, M);
                std::fill(bias_lanes, bias_lanes + d.L, T(0));
                for (int64_t u = 0; u < g && bias; ++u)
                    std::fill(bias_lanes + u * nout, bias_lanes + (u + 1) * nout, bias[c0 + u]);
                built = group;
            }
            const int64_t b1 = std::min(B, (chunk + 1) * per_chunk);
            auto apply = [&]<int64_t L>() {
                constexpr int64_t NB = dense_batch(L);
                const int64_t is = C * nin, os = C * nout;
                int64_t b = chunk * per_chunk;
                for (; b + NB <= b1; b += NB) {
                    const T* src = in + (b * C + c0) * nin;
                    bool finite = true;
                    for (int64_t u = 0; u < NB; ++u) finite &= all_finite(src + u * is, g * nin);
                    if (!finite) break;
                    dense_apply<T, L, NB>(M, bias_lanes, src, is, g * nin,
                                          out + (b * C + c0) * nout, os, g * nout);
                }
                for (; b < b1; ++b) {  // the remainder, and planes near an inf or NaN
                    const T* src = in + (b * C + c0) * nin;
                    T* dst = out + (b * C + c0) * nout;
                    if (all_finite(src, g * nin))
                        dense_apply<T, L, 1>(M, bias_lanes, src, is, g * nin, dst, os, g * nout);
                    else
                        exact_group(f, ws, flip, bias, c0, g, src, dst);
                }
            };
            switch (d.L) {
                case 16:
                    apply.template operator()<16>();
                    break;
                case 32:
                    apply.template operator()<32>();
                    break;
                case 48:
                    apply.template operator()<48>();
                    break;
                default:
                    apply.template operator()<64>();
                    break;
            }
        }
    });
}

// Outputs [o0, o0 + OB) of weight_dense: OB independent FMA chains over the planes, each output's
// terms in the same order whatever OB is.
template <typename T, int64_t L, int64_t OB>
void weight_dense_outputs(const T* gs, const Frame& f, int64_t C, int64_t c, int64_t b0, int64_t nb,
                          const T* X, int64_t o0, double* acc) {
    const int64_t nout = f.nout();
    double sums[OB][L] = {};
    for (int64_t s0 = 0; s0 < nb; s0 += kFlushPlanes) {
        T part[OB][L] = {};
        for (int64_t bi = s0; bi < std::min(nb, s0 + kFlushPlanes); ++bi) {
            const T* g = gs + ((b0 + bi) * C + c) * nout + o0;
            const T* x = X + bi * L;
            for (int64_t u = 0; u < OB; ++u) {
                const T gv = g[u];
#pragma omp simd
                for (int64_t l = 0; l < L; ++l) part[u][l] += gv * x[l];
            }
        }
        for (int64_t u = 0; u < OB; ++u)
            for (int64_t l = 0; l < L; ++l) sums[u][l] += double(part[u][l]);
    }
    for (int64_t u = 0; u < OB; ++u)
        for (int64_t q = 0; q < f.nin(); ++q)
            if (const int64_t t = f.tap(o0 + u, q); t >= 0) acc[t] += sums[u][q];
}

// Weight gradient of one channel over planes [b0, b0 + nb), dense path: for each output o, L lanes
// accumulate dy[o] x[q] over the planes (in T for kFlushPlanes planes, then in double), and each
// (o, q) pair linked by a tap is added into that tap. X: the planes' x, each padded to L lanes.
template <typename T, int64_t L>
void weight_dense(const T* xs, const T* gs, const Frame& f, int64_t C, int64_t c, int64_t b0,
                  int64_t nb, T* X, double* acc) {
    const int64_t nin = f.nin(), nout = f.nout();
    for (int64_t bi = 0; bi < nb; ++bi) {
        const T* x = xs + ((b0 + bi) * C + c) * nin;
        std::copy(x, x + nin, X + bi * L);
        std::fill(X + bi * L + nin, X + (bi + 1) * L, T(0));
    }
    constexpr int64_t OB = dense_batch(L);
    int64_t o = 0;
    for (; o + OB <= nout; o += OB) weight_dense_outputs<T, L, OB>(gs, f, C, c, b0, nb, X, o, acc);
    for (; o < nout; ++o) weight_dense_outputs<T, L, 1>(gs, f, C, c, b0, nb, X, o, acc);
}

}  // namespace vg::cpu::dwconv
