#!/usr/bin/env python3
"""Writes the float64 / float32 reference dumps for structured attention initialisation, compared by
tests/models/test_reference.cpp (models) and tests/train/test_sinit_reference.cpp (initialisers).

Written independently from the papers and the released code they name (read, not copied):
  - structured init v1, Zheng, Li, Lucey, arXiv 2404.01139 (osiriszjq/structured_init, timm
    vision_transformer.py: impulse_init, get_ortho_like);
  - v2, arXiv 2505.19985 (osiriszjq/structured_initialization: impulse_init, post_init_weights);
  - the predecessor's SimpleViT, arXiv 2401.12511 (osiriszjq/impulse_init vit.py);
  - timm's build_sincos2d_pos_embed.

Files:
  sinit_vit_gap_ref        a tiny ViT without class token: sin-cos PE, mean pool, fc_norm. Weights
                           ("param.*"), the PE buffer ("buffer.pos_embed"), input, labels, logits,
                           loss and every gradient ("grad.*"), float64; config in the metadata.
  sinit_simplevit_ref      a tiny SimpleViT with q/k reading 0.3 LN(x) + 0.7 PE and scale 0.1.
  sinit_simplevit_pe_ref   the same with the PE mixed in at the input (input_pe).
  sinit_closed_forms       sin-cos tables of both layouts; v2's closed form from a given P and
                           noise E; mimetic factors from given Z.
  sinit_v1_solve           a small v1 Adam solve from given P, targets, Q0, K0 (float32, as the
                           reference): its final maps, loss, and per-head target fit.

Run with Debian's torch:  /usr/bin/python3 tests/reference/make_sinit_reference.py
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_reference as mr  # noqa: E402  (Block, PatchEmbed, save_safetensors)


# --- position tables -------------------------------------------------------------------------------

def sincos_timm(S, D):
    """timm build_sincos2d_pos_embed: [sin(row w), sin(col w), cos(row w), cos(col w)], w_k = 1e4^(-k/(D/4))."""
    F_ = D // 4
    omega = 1.0 / (10000.0 ** (torch.arange(F_, dtype=torch.float64) / F_))
    row = (torch.arange(S * S) // S).double()[:, None] * omega[None]
    col = (torch.arange(S * S) % S).double()[:, None] * omega[None]
    return torch.cat([row.sin(), col.sin(), row.cos(), col.cos()], dim=1)


def sincos_simplevit(S, D):
    """impulse_init vit.py posemb_sincos_2d: [sin(x w), cos(x w), sin(y w), cos(y w)], w_k = 1e4^(-k/(D/4-1))."""
    F_ = D // 4
    omega = 1.0 / (10000.0 ** (torch.arange(F_, dtype=torch.float64) / (F_ - 1)))
    y, x = torch.meshgrid(torch.arange(S), torch.arange(S), indexing="ij")
    x = x.flatten().double()[:, None] * omega[None]
    y = y.flatten().double()[:, None] * omega[None]
    return torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], dim=1)


# --- models ----------------------------------------------------------------------------------------

class VitGap(nn.Module):
    """timm VisionTransformer(class_token=False, global_pool='avg', no_embed_class=True) with a
    fixed sin-cos PE: fc_norm replaces the final norm."""

    def __init__(self, cfg):
        super().__init__()
        D, S = cfg["embed_dim"], cfg["img_size"] // cfg["patch_size"]
        self.patch_embed = mr.PatchEmbed(cfg["patch_size"], 3, D)
        self.register_buffer("pos_embed", sincos_timm(S, D)[None].float())
        self.blocks = nn.ModuleList([mr.Block(D, cfg["num_heads"], True, False)
                                     for _ in range(cfg["depth"])])
        self.fc_norm = nn.LayerNorm(D, eps=1e-6)
        self.head = nn.Linear(D, cfg["num_classes"])

    def forward(self, x):
        x = self.patch_embed(x) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.fc_norm(x.mean(dim=1)))


class Patchify(nn.Module):
    """b c (h p1) (w p2) -> b (h w) (p1 p2 c)"""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, img):
        B, C, Hh, Ww = img.shape
        p = self.p
        x = img.reshape(B, C, Hh // p, p, Ww // p, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(B, (Hh // p) * (Ww // p), p * p * C)


class SAttention(nn.Module):
    def __init__(self, dim, heads, scale):
        super().__init__()
        self.heads, self.scale = heads, scale
        self.norm = nn.LayerNorm(dim)
        self.to_qk = nn.Linear(dim, 2 * dim, bias=False)
        self.to_v = nn.Linear(dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim, bias=False)

    def forward(self, x, pe, alpha):
        B, N, C = x.shape
        x = self.norm(x)
        v = self.to_v(x)
        q, k = self.to_qk(alpha * x + (1 - alpha) * pe).chunk(2, dim=-1)
        split = lambda t: t.reshape(B, N, self.heads, C // self.heads).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        a = (torch.matmul(q, k.transpose(-1, -2)) * self.scale).softmax(dim=-1)
        return self.to_out(torch.matmul(a, v).transpose(1, 2).reshape(B, N, C))


class FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        return self.net(x)


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, hidden, scale):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.layers = nn.ModuleList([nn.ModuleList([SAttention(dim, heads, scale), FeedForward(dim, hidden)])
                                     for _ in range(depth)])


class SimpleViT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, p = cfg["embed_dim"], cfg["patch_size"]
        S = cfg["img_size"] // p
        self.alpha, self.input_pe = cfg["spatial_alpha"], cfg["input_pe"]
        self.to_patch_embedding = nn.Sequential(Patchify(p), nn.LayerNorm(3 * p * p), nn.Linear(3 * p * p, D),
                                                nn.LayerNorm(D))
        self.register_buffer("pos_embedding", sincos_simplevit(S, D)[None].float())
        hidden = int(D * cfg["mlp_ratio"])
        self.transformer = Transformer(D, cfg["depth"], cfg["num_heads"], hidden, cfg["attn_scale"])
        self.linear_head = nn.Linear(D, cfg["num_classes"])

    def forward(self, img):
        x = self.to_patch_embedding(img)
        pe = self.pos_embedding.to(x.dtype)
        alpha_qk = self.alpha
        if self.input_pe:
            x = self.alpha * x + (1 - self.alpha) * pe
            alpha_qk = 1.0
        for attn, ff in self.transformer.layers:
            x = attn(x, pe, alpha_qk) + x
            x = ff(x) + x
        return self.linear_head(self.transformer.norm(x).mean(dim=1))


MODEL_CONFIGS = {
    "sinit_vit_gap_ref": dict(arch="deit", img_size=16, patch_size=4, embed_dim=16, depth=2, num_heads=2,
                              num_classes=10, qkv_bias=True, class_token=False, pool="avg",
                              pos_embed="sincos", local_up_to_layer=0, distilled=False),
    "sinit_simplevit_ref": dict(arch="simplevit", img_size=8, patch_size=2, embed_dim=16, depth=2,
                                num_heads=4, num_classes=10, mlp_ratio=1.0, spatial_alpha=0.3,
                                input_pe=False, attn_scale=0.1, qkv_bias=False, local_up_to_layer=0,
                                distilled=False),
    "sinit_simplevit_pe_ref": dict(arch="simplevit", img_size=8, patch_size=2, embed_dim=16, depth=2,
                                   num_heads=4, num_classes=10, mlp_ratio=1.0, spatial_alpha=0.5,
                                   input_pe=True, attn_scale=0.25, qkv_bias=False, local_up_to_layer=0,
                                   distilled=False),
}


def meta_of(cfg):
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in cfg.items()}


def make_model_dump(name, cfg):
    torch.manual_seed(sum(map(ord, name)))
    model = (SimpleViT if cfg["arch"] == "simplevit" else VitGap)(cfg).double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(4, 3, cfg["img_size"], cfg["img_size"], dtype=torch.float64)
    labels = torch.randint(0, cfg["num_classes"], (4,))
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    tensors = {"input": x, "labels": labels, "logits": logits, "loss": loss.reshape(1)}
    for n, p in model.named_parameters():
        tensors["param." + n] = p
        tensors["grad." + n] = p.grad
    for n, b in model.named_buffers():
        tensors["buffer." + n] = b
    path = os.path.join(HERE, name + ".safetensors")
    mr.save_safetensors(path, tensors, dict(meta_of(cfg), source="independent"))
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, loss {loss.item():.10f}, "
          f"{os.path.getsize(path)} bytes")


# --- initialisers ----------------------------------------------------------------------------------

def kernel_offset(k, f):
    return k // f - f // 2, k % f - f // 2


def shift_targets(S, offsets, dtype=torch.float64):
    """T[h, (r, c), (r + dy, c + dx)] = 1 inside the grid (the released impulse_init's loops)."""
    N = S * S
    T = torch.zeros(len(offsets), N, N, dtype=dtype)
    for h, (dy, dx) in enumerate(offsets):
        for r in range(S):
            for c in range(S):
                if 0 <= r + dy < S and 0 <= c + dx < S:
                    T[h, r * S + c, (r + dy) * S + c + dx] = 1
    return T


def canonical_signs(u, v):
    """Each left singular vector's largest-magnitude entry (first on ties) positive; v flips with it."""
    u, v = u.clone(), v.clone()
    idx = u.abs().argmax(dim=-2, keepdim=True)
    sign = torch.sign(torch.gather(u, -2, idx))
    sign[sign == 0] = 1
    return u * sign, v * sign


def v2_factors(P, W, r):
    """structured_initialization impulse_init, float64: rank-r pseudo-inverse of P^T P, then a rank-r SVD."""
    ptp = P.T @ P
    u, s, v = torch.svd(ptp)
    s_inv = torch.zeros_like(s)
    s_inv[:r] = 1 / s[:r]
    p_inv = v @ torch.diag(s_inv) @ u.T @ P.T
    A = p_inv @ W @ p_inv.T
    u, s, v = torch.svd(A)
    u, v = canonical_signs(u, v)
    root = torch.diag_embed(s[:, :r].sqrt())
    q = u[:, :, :r] @ root
    k = (v[:, :, :r] @ root).transpose(-1, -2)
    q = q / q.norm(dim=(-1, -2), keepdim=True)
    k = k / k.norm(dim=(-1, -2), keepdim=True)
    return q, k


def mimetic(Z, alpha, beta):
    """get_ortho_like: A = alpha Z + beta I = U S V^T, L = U S^1/2, R = S^1/2 V^T."""
    A = alpha * Z + beta * torch.eye(Z.shape[0], dtype=Z.dtype)
    u, s, vh = torch.linalg.svd(A)
    u, v = canonical_signs(u, vh.T)
    return u @ torch.diag(s.sqrt()), torch.diag(s.sqrt()) @ v.T


def make_closed_forms():
    g = torch.Generator().manual_seed(2404)
    t = {}
    t["sincos_timm_8_32"] = sincos_timm(8, 32)
    t["sincos_simplevit_8_32"] = sincos_simplevit(8, 32)
    # v2 on a 6x6 grid, D = 24, H = 3, r = 8: learned PE randn * 0.02, scaled by norm_p = 18.
    S, D, H, r = 6, 24, 3, 8
    pos = torch.randn(1, S * S, D, generator=g, dtype=torch.float64) * 0.02
    P = F.layer_norm(pos[0] * 18.0, [D])
    taps = [4, 1, 5, 3, 7, 0, 2, 6, 8]
    offsets = [kernel_offset(taps[h % 9], 3) for h in range(H)]
    T = shift_targets(S, offsets)
    E = torch.fmod(torch.randn(T.shape, generator=g, dtype=torch.float64), 3.0) * 0.6  # any noise works
    W = 1000.0 * T + 3.0 * E * (T == 0)
    q, k = v2_factors(P, W, r)
    t.update({"v2.pos_embed": pos, "v2.P": P, "v2.noise": E, "v2.logits": W, "v2.q": q, "v2.k": k})
    for D_ in (16, 32):
        Z = (torch.rand(D_, D_, generator=g, dtype=torch.float64) * 2 - 1) * math.sqrt(3.0 / D_)
        t[f"mimetic{D_}.Z"] = Z
        for tag, a, b in (("qk", 0.7, 0.7), ("v", 0.4, -0.4)):
            L, R = mimetic(Z, a, b)
            t[f"mimetic{D_}.{tag}.L"], t[f"mimetic{D_}.{tag}.R"] = L, R
    path = os.path.join(HERE, "sinit_closed_forms.safetensors")
    mr.save_safetensors(path, t, {"v2": f"S={S} D={D} H={H} r={r} offsets={offsets}",
                                  "source": "independent"})
    print(f"sinit_closed_forms: {len(t)} tensors, {os.path.getsize(path)} bytes")


def target_fit(A, offsets):
    """Per head, over rows whose target is inside the grid: mean mass on the target and mean distance
    between the attention centre and the target offset."""
    H, N, _ = A.shape
    S = int(round(math.sqrt(N)))
    ry, rx = torch.arange(N) // S, torch.arange(N) % S
    dy = (ry[None, :] - ry[:, None]).double()
    dx = (rx[None, :] - rx[:, None]).double()
    mass, dist = [], []
    for h, (oy, ox) in enumerate(offsets):
        m, d, n = 0.0, 0.0, 0
        for i in range(N):
            r, c = i // S + oy, i % S + ox
            if not (0 <= r < S and 0 <= c < S):
                continue
            row = A[h, i].double()
            m += row[r * S + c].item()
            d += math.hypot((row * dy[i]).sum().item() - oy, (row * dx[i]).sum().item() - ox)
            n += 1
        mass.append(m / n)
        dist.append(d / n)
    return torch.tensor(mass, dtype=torch.float64), torch.tensor(dist, dtype=torch.float64)


V1_ITERS = 3000


def make_v1_solve():
    """The v1 Adam solve exactly as released (float32, Adam lr 1e-4, renorm every 100), small."""
    g = torch.Generator().manual_seed(4011)
    S, D, H, r = 6, 32, 2, 16
    scale = r ** -0.5
    P = F.layer_norm(sincos_timm(S, D).float(), [D])
    offsets = [kernel_offset(k, 3) for k in (0, 5)]
    T = shift_targets(S, offsets, torch.float32)
    a = math.sqrt(1 / r / H)
    q0 = a * (2 * torch.rand(H, D, r, generator=g) - 1)
    k0 = a * (2 * torch.rand(H, r, D, generator=g) - 1)
    Q, K = nn.Parameter(q0.clone()), nn.Parameter(k0.clone())
    nq = q0.norm(dim=1).mean()
    opt = torch.optim.Adam([Q, K], lr=1e-4)
    for i in range(V1_ITERS):
        if i % 100 == 0:
            with torch.no_grad():
                Q.div_(Q.norm(dim=1, keepdim=True) / nq)
                K.div_(K.norm(dim=1, keepdim=True) / nq)
        opt.zero_grad()
        maps = torch.softmax(P @ Q @ K @ P.T * scale, -1)
        loss = F.mse_loss(maps, T)
        loss.backward()
        opt.step()
    with torch.no_grad():
        maps = torch.softmax(P @ Q @ K @ P.T * scale, -1)
    mass, dist = target_fit(maps, offsets)
    t = {"P": P, "targets": T, "q0": q0, "k0": k0, "maps": maps, "loss": loss.detach().reshape(1),
         "mass": mass, "distance": dist}
    path = os.path.join(HERE, "sinit_v1_solve.safetensors")
    mr.save_safetensors(path, t, {"S": str(S), "D": str(D), "H": str(H), "r": str(r), "scale": repr(scale),
                                  "iterations": str(V1_ITERS), "offsets": str(offsets),
                                  "source": "independent"})
    print(f"sinit_v1_solve: loss {loss.item():.6g}, mass {mass.tolist()}, distance {dist.tolist()}")


def main():
    for name, cfg in MODEL_CONFIGS.items():
        make_model_dump(name, cfg)
    make_closed_forms()
    make_v1_solve()


if __name__ == "__main__":
    main()
