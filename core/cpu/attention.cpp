// CPU fused multi-head attention (core/cpu/attention.h): one (image, head) tile per task, its
// small products on small_gemm's register-blocked kernel, its rows through the same softmax and
// gated-mix row code as the standalone kernels.
#include "core/cpu/attention.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/cpu/gated_mix_row.h"
#include "core/cpu/loops.h"
#include "core/cpu/small_gemm.h"
#include "core/cpu/softmax_row.h"
#include "core/dtype.h"

namespace vg::cpu {

namespace {

namespace sg = small_gemm;

// Per-thread scratch that only grows: the pool's threads live as long as the process, so the
// steady state allocates nothing. Aligned to a cache line, so that the tile's rows (whole
// vectors wide) never straddle two lines: at 16-byte alignment the scores product ran at half
// the speed of the others.
template <typename T>
T* scratch(int slot, int64_t n) {
    constexpr int64_t kLine = 64;
    thread_local std::vector<T> buffers[4];
    std::vector<T>& b = buffers[slot];
    const int64_t need = n + kLine / int64_t(sizeof(T));
    if (int64_t(b.size()) < need) b.resize(size_t(need));
    const auto addr = reinterpret_cast<std::uintptr_t>(b.data());
    return reinterpret_cast<T*>((addr + kLine - 1) / kLine * kLine);
}

// dst[c, r] = src[r, c] for r < rows, c < cols (src row stride ld); dst's rows are `width` wide
// and zero past `rows`.
template <typename T>
void pack_transposed(const T* src, int64_t ld, int64_t rows, int64_t cols, T* dst, int64_t width) {
    for (int64_t c = 0; c < cols; ++c) {
        T* dr = dst + c * width;
        for (int64_t r = 0; r < rows; ++r) dr[r] = src[r * ld + c];
        std::fill(dr + rows, dr + width, T(0));
    }
}

// `rows` rows of d values (row stride ld) as small_gemm's right operand: the rows themselves when
// d fills whole vectors or the kernel masks the partial one, else a zero-padded copy in scratch
// `slot`. Returns (data, row stride).
template <typename T>
std::pair<const T*, int64_t> right_operand(const T* src, int64_t ld, int64_t rows, int64_t d,
                                           int slot) {
    const int64_t width = sg::padded<T>(d);
    if (width == d || sg::kMaskedTail) return {src, ld};
    T* dst = scratch<T>(slot, rows * width);
    for (int64_t r = 0; r < rows; ++r) {
        std::copy(src + r * ld, src + r * ld + d, dst + r * width);
        std::fill(dst + r * width + d, dst + (r + 1) * width, T(0));
    }
    return {dst, width};
}

// Where one head of one image starts in q, k, v (and their gradients): [B, T, H d] views.
struct HeadView {
    int64_t batch_stride, row_stride;
    template <typename P>
    P* at(P* base, int64_t b, int64_t h, int64_t d) const {
        return base + b * batch_stride + h * d;
    }
};

HeadView head_view(const Tensor& t) { return {t.strides()[0], t.strides()[1]}; }

// The tile geometry and the inputs' views, the same for both directions.
struct Geometry {
    int64_t B, T, H, C, d;
    HeadView q, k, v;
    explicit Geometry(const AttentionArgs& a)
        : B(a.q.size(0)),
          T(a.q.size(1)),
          H(a.heads),
          C(a.q.size(2)),
          d(C / H),
          q(head_view(a.q)),
          k(head_view(a.k)),
          v(head_view(a.v)) {}
};

template <typename F>
struct Inputs {
    const F *q, *k, *v, *pos, *gate;  // pos and gate null without a gate
    explicit Inputs(const AttentionArgs& a)
        : q(a.q.data<F>()),
          k(a.k.data<F>()),
          v(a.v.data<F>()),
          pos(a.gate.defined() ? a.pos.data<F>() : nullptr),
          gate(a.gate.defined() ? a.gate.data<F>() : nullptr) {}
};

}  // namespace

void attention_fwd(const AttentionArgs& a, Tensor& o, Tensor& probs, Tensor& mixed,
                   Tensor& rowsum) {
    const Geometry g(a);
    const int64_t B = g.B, T = g.T, H = g.H, C = g.C, d = g.d;
    const bool gated = a.gate.defined();
    dispatch_float(a.q.dtype(), "multi_head_attention", [&]<typename F>() {
        const Inputs<F> in(a);
        F* out = o.data<F>();
        F* pr = probs.data<F>();
        F* mx = gated ? mixed.data<F>() : nullptr;
        F* rs = gated && a.normalize ? rowsum.data<F>() : nullptr;
        const int64_t Tp = sg::padded<F>(T);
        parallel_for(B * H, 1, [&](int64_t lo, int64_t hi) {
            F* kt = scratch<F>(0, d * Tp);
            F* s = scratch<F>(1, T * Tp);
            for (int64_t t = lo; t < hi; ++t) {
                const int64_t b = t / H, h = t % H;
                pack_transposed(g.k.at(in.k, b, h, d), g.k.row_stride, T, d, kt, Tp);
                sg::gemm(g.q.at(in.q, b, h, d), g.q.row_stride, 1, kt, Tp, T, d, T, F(a.scale), s,
                         Tp);
                F* p_tile = pr + t * T * T;
                for (int64_t i = 0; i < T; ++i) softmax_row(s + i * Tp, p_tile + i * T, T);
                const F* maps = p_tile;
                if (gated) {
                    F* m_tile = mx + t * T * T;
                    for (int64_t i = 0; i < T; ++i) {
                        const F sum = gated_mix_row_fwd(p_tile + i * T, in.pos + (h * T + i) * T,
                                                        in.gate[h], a.normalize, m_tile + i * T, T);
                        if (rs) rs[t * T + i] = sum;
                    }
                    maps = m_tile;
                }
                auto [vb, ldv] = right_operand(g.v.at(in.v, b, h, d), g.v.row_stride, T, d, 2);
                sg::gemm(maps, T, 1, vb, ldv, T, T, d, F(1), out + b * T * C + h * d, C);
            }
        });
    });
}

// Per tile, with maps the forward's product with v (mixed with a gate, else probs):
//   dmaps = dout vᵀ,  dv = mapsᵀ dout,  dprobs = the gate's backward of dmaps (or dmaps),
//   dscores = softmax's backward of dprobs,  dq = scale dscores k,  dk = scale dscoresᵀ q.
void attention_bwd(const AttentionArgs& a, const Tensor& probs, const Tensor& mixed,
                   const Tensor& rowsum, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                   Tensor& dpos, Tensor& dgate, Tensor& pos_parts, Tensor& gate_parts) {
    const Geometry g(a);
    const int64_t B = g.B, T = g.T, H = g.H, C = g.C, d = g.d;
    const bool gated = a.gate.defined();
    const int64_t blocks = (B + kAttentionImageBlock - 1) / kAttentionImageBlock;
    const HeadView dqv = head_view(dq), dkv = head_view(dk), dvv = head_view(dv);
    dispatch_float(a.q.dtype(), "multi_head_attention", [&]<typename F>() {
        const Inputs<F> in(a);
        const F* pr = probs.data<F>();
        const F* mx = gated ? mixed.data<F>() : nullptr;
        const F* rs = gated && a.normalize ? rowsum.data<F>() : nullptr;
        const F* go = dout.data<F>();
        F* gq = dq.data<F>();
        F* gk = dk.data<F>();
        F* gv = dv.data<F>();
        F* pp = gated ? pos_parts.data<F>() : nullptr;
        F* gp = gated ? gate_parts.data<F>() : nullptr;
        const int64_t Tp = sg::padded<F>(T);
        const F scale = F(a.scale);
        parallel_for(blocks * H, 1, [&](int64_t lo, int64_t hi) {
            F* vt = scratch<F>(0, d * Tp);
            F* ds = scratch<F>(1, T * Tp);
            for (int64_t task = lo; task < hi; ++task) {
                const int64_t blk = task / H, h = task % H;
                F* dpos_part = gated ? pp + task * T * T : nullptr;
                if (gated) std::fill(dpos_part, dpos_part + T * T, F(0));
                F dgate_part = 0;
                const int64_t b_end = std::min(B, (blk + 1) * kAttentionImageBlock);
                for (int64_t b = blk * kAttentionImageBlock; b < b_end; ++b) {
                    const int64_t t = b * H + h;
                    const F* p_tile = pr + t * T * T;
                    const F* maps = gated ? mx + t * T * T : p_tile;
                    const F* go_bh = go + b * T * C + h * d;
                    pack_transposed(g.v.at(in.v, b, h, d), g.v.row_stride, T, d, vt, Tp);
                    sg::gemm(go_bh, C, 1, vt, Tp, T, d, T, F(1), ds, Tp);
                    auto [gob, ldgo] = right_operand(go_bh, C, T, d, 2);
                    sg::gemm(maps, 1, T, gob, ldgo, T, T, d, F(1), dvv.at(gv, b, h, d),
                             dvv.row_stride);
                    for (int64_t i = 0; i < T; ++i) {
                        F* row = ds + i * Tp;
                        if (gated)
                            gated_mix_row_bwd(p_tile + i * T, in.pos + (h * T + i) * T, in.gate[h],
                                              a.normalize, maps + i * T, rs ? rs[t * T + i] : F(1),
                                              row, row, dpos_part + i * T, dgate_part, T);
                        softmax_bwd_row(p_tile + i * T, row, row, T);
                    }
                    auto [kb, ldk] = right_operand(g.k.at(in.k, b, h, d), g.k.row_stride, T, d, 2);
                    sg::gemm(ds, Tp, 1, kb, ldk, T, T, d, scale, dqv.at(gq, b, h, d),
                             dqv.row_stride);
                    auto [qb, ldq] = right_operand(g.q.at(in.q, b, h, d), g.q.row_stride, T, d, 3);
                    sg::gemm(ds, 1, Tp, qb, ldq, T, T, d, scale, dkv.at(gk, b, h, d),
                             dkv.row_stride);
                }
                if (gated) gp[task] = dgate_part;
            }
        });
        if (!gated) return;
        // The blocks' shares, summed in block order whatever the thread count.
        F* gpos = dpos.data<F>();
        const int64_t HTT = H * T * T;
        parallel_for(HTT, kParallelGrain / std::max<int64_t>(blocks, 1) + 1,
                     [&](int64_t lo, int64_t hi) {
                         for (int64_t e = lo; e < hi; ++e) {
                             F sum = 0;
                             for (int64_t blk = 0; blk < blocks; ++blk) sum += pp[blk * HTT + e];
                             gpos[e] = sum;
                         }
                     });
        F* gg = dgate.data<F>();
        for (int64_t h = 0; h < H; ++h) {
            F sum = 0;
            for (int64_t blk = 0; blk < blocks; ++blk) sum += gp[blk * H + h];
            gg[h] = sum;
        }
    });
}

}  // namespace vg::cpu
