// multi_head_attention: softmax(scale q kᵀ) v per head, with GPSA's gated mix as an option, as
// one op whose CPU forward and backward are the fused per-(image, head) kernels of
// core/cpu/attention.h; CUDA composes matmul, softmax and gated_mix.
#include <atomic>

#include "autograd/ops.h"
#include "autograd/record.h"
#include "core/cpu/attention.h"

namespace vg {

namespace {

std::atomic<bool> g_fused_cpu_attention{true};

struct AttentionShape {
    int64_t B, T, C, H, d;
};

AttentionShape check_attention(const Tensor& qk, const Tensor& v, int64_t heads, const Tensor& pos,
                               const Tensor& gate) {
    const char* op = "multi_head_attention";
    check_defined(op, qk, "qk");
    if (qk.dim() != 3) fail(op, "qk must be [B, T, 2C] or [B, T, 3C], got {}", qk.desc());
    if (!is_floating(qk.dtype()))
        fail(op, "expected float32 or float64 tensors, got {}", qk.desc());
    if (heads <= 0) fail(op, "heads must be positive, got {}", heads);
    const int64_t parts = v.defined() ? 2 : 3;
    const int64_t B = qk.size(0), T = qk.size(1), W = qk.size(2);
    if (W % (parts * heads) != 0)
        fail(op, "qk {} must hold {} blocks of C = heads * d channels ({} heads){}", qk.desc(),
             parts, heads, v.defined() ? " beside v" : " (v undefined: q, k and v)");
    const int64_t C = W / parts;
    std::vector<const Tensor*> all{&qk};
    if (v.defined()) {
        if (v.shape() != Shape{B, T, C})
            fail(op, "v must be [{}, {}, {}] to match qk {}, got {}", B, T, C, qk.desc(), v.desc());
        all.push_back(&v);
    }
    if (pos.defined() != gate.defined())
        fail(op, "pos and gate come together (GPSA) or not at all; got only {}",
             pos.defined() ? "pos" : "gate");
    if (pos.defined()) {
        if (pos.shape() != Shape{heads, T, T})
            fail(op, "pos must be [{}, {}, {}] for {} heads over {} tokens, got {}", heads, T, T,
                 heads, T, pos.desc());
        if (gate.shape() != Shape{heads})
            fail(op, "gate must be [{}] (one value per head), got {}", heads, gate.desc());
        all.push_back(&pos);
        all.push_back(&gate);
    }
    for (const Tensor* t : all) {
        check_same_device(op, {&qk, t});
        check_same_dtype(op, {&qk, t});
    }
    return {B, T, C, heads, C / heads};
}

// [B, T, C] columns [col, col + C) of x as [B, H, T, d].
Tensor heads_of(const Tensor& x, int64_t col, const AttentionShape& s) {
    return x.narrow(2, col, s.C).reshape({s.B, s.T, s.H, s.d}).transpose(1, 2);
}

// The same attention from separate ops: CUDA's path (and the definition the fused one matches).
Tensor attention_composite(const Tensor& qk, const Tensor& v, const AttentionShape& s, double scale,
                           const Tensor& pos, const Tensor& gate, bool normalize,
                           AttentionMaps* out_maps) {
    Tensor q = heads_of(qk, 0, s), k = heads_of(qk, s.C, s);
    Tensor vh = v.defined() ? heads_of(v, 0, s) : heads_of(qk, 2 * s.C, s);
    Tensor content = softmax(matmul(q, k.transpose(-2, -1), scale), -1);
    Tensor maps = pos.defined() ? gated_mix(content, pos, gate, normalize) : content;
    if (out_maps) *out_maps = {content.detach(), maps.detach()};
    return matmul(maps, vh).transpose(1, 2).reshape({s.B, s.T, s.C});
}

// The kernel's view of the inputs: q, k, v need a unit stride along channels.
cpu::AttentionArgs kernel_args(const Tensor& qk, const Tensor& v, const AttentionShape& s,
                               double scale, const Tensor& pos, const Tensor& gate,
                               bool normalize) {
    Tensor x = qk.detach();
    if (x.strides()[2] != 1) x = x.contiguous();
    Tensor vx = v.defined() ? v.detach() : x.narrow(2, 2 * s.C, s.C);
    if (vx.strides()[2] != 1) vx = vx.contiguous();
    cpu::AttentionArgs a;
    a.q = x.narrow(2, 0, s.C);
    a.k = x.narrow(2, s.C, s.C);
    a.v = vx;
    if (pos.defined()) {
        a.pos = pos.detach().contiguous();
        a.gate = gate.detach().contiguous();
    }
    a.normalize = normalize;
    a.scale = scale;
    a.heads = s.H;
    return a;
}

}  // namespace

void set_fused_cpu_attention(bool fused) { g_fused_cpu_attention = fused; }

bool fused_cpu_attention() { return g_fused_cpu_attention; }

Tensor multi_head_attention(const Tensor& qk, const Tensor& v, int64_t heads, double scale,
                            const Tensor& pos, const Tensor& gate, bool normalize,
                            AttentionMaps* maps) {
    const AttentionShape s = check_attention(qk, v, heads, pos, gate);
    if (!qk.device().is_cpu() || !fused_cpu_attention())
        return attention_composite(qk, v, s, scale, pos, gate, normalize, maps);
    const cpu::AttentionArgs args = kernel_args(qk, v, s, scale, pos, gate, normalize);
    const bool gated = pos.defined();
    const DType dt = qk.dtype();
    Tensor out = Tensor::empty({s.B, s.T, s.C}, dt);
    Tensor probs = Tensor::empty({s.B, s.H, s.T, s.T}, dt);
    Tensor mixed = gated ? Tensor::empty({s.B, s.H, s.T, s.T}, dt) : Tensor();
    Tensor rowsum = gated && normalize ? Tensor::empty({s.B, s.H, s.T}, dt) : Tensor();
    if (s.B * s.T * s.C > 0) cpu::attention_fwd(args, out, probs, mixed, rowsum);
    if (maps) *maps = {probs.detach(), gated ? mixed.detach() : probs.detach()};
    return record(
        "multi_head_attention", out, {qk, v, pos, gate},
        [args, probs, mixed, rowsum, s, gated, has_v = v.defined(), qk_shape = qk.shape()](
            const std::vector<Tensor>& grads, const std::vector<bool>&) {
            const DType dt = probs.dtype();
            Tensor dout = grads[0].contiguous();
            Tensor dqk = Tensor::empty(qk_shape, dt);
            Tensor dv = has_v ? Tensor::empty({s.B, s.T, s.C}, dt) : Tensor();
            Tensor dq = dqk.narrow(2, 0, s.C), dk = dqk.narrow(2, s.C, s.C);
            Tensor dv_view = has_v ? dv : dqk.narrow(2, 2 * s.C, s.C);
            Tensor dpos, dgate, pos_parts, gate_parts;
            if (gated) {
                const int64_t blocks =
                    (s.B + cpu::kAttentionImageBlock - 1) / cpu::kAttentionImageBlock;
                dpos = Tensor::empty({s.H, s.T, s.T}, dt);
                dgate = Tensor::empty({s.H}, dt);
                pos_parts = Tensor::empty({blocks, s.H, s.T, s.T}, dt);
                gate_parts = Tensor::empty({blocks, s.H}, dt);
            }
            if (s.B * s.T * s.C > 0)
                cpu::attention_bwd(args, probs, mixed, rowsum, dout, dq, dk, dv_view, dpos, dgate,
                                   pos_parts, gate_parts);
            else
                for (Tensor* t : {&dqk, &dv, &dpos, &dgate})
                    if (t->defined()) t->fill_(0.0);
            return std::vector<Tensor>{dqk, dv, dpos, dgate};
        });
}

}  // namespace vg
