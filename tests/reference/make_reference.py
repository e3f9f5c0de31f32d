#!/usr/bin/env python3
"""Writes the float64 reference dumps that tests/models/test_reference.cpp compares vitgrad against.

For tiny ConViT and DeiT configurations (seeded), each file holds every weight ("param.<name>",
timm's state-dict names), an input batch ("input"), integer labels ("labels"), the logits
("logits"), the mean cross-entropy ("loss") and every parameter gradient ("grad.<name>"); the
configuration is stored in the safetensors "__metadata__".

The models below are a minimal, independent PyTorch implementation written from the ConViT paper
(d'Ascoli et al. 2021) and the DeiT paper (Touvron et al. 2021), mirroring timm's convit.py /
vision_transformer.py structure
and parameter names. With --timm the same weights are also loaded into timm's models
(timm.models.convit.ConVit / vision_transformer.VisionTransformer); their logits must agree, and
the dumps are then produced by timm's models.

Run with Debian's torch:  /usr/bin/python3 tests/reference/make_reference.py [--timm]
With --check nothing is written: every dump is recomputed and compared with the committed file
(run it after changing the model classes, which the PyTorch benchmark peer also times).
"""
import argparse
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


# --- the independent implementation ------------------------------------------------------------

class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact erf form
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    def __init__(self, dim, heads, qkv_bias):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).reshape(B, T, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        # Scaling q rather than the scores (as timm's Attention does) is the same product, touches
        # T x d instead of T x T numbers, and leaves q contiguous for the batched matmul.
        a = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(B, T, C))


def rel_indices(n):
    """R[i, j] = (dx, dy, dx^2 + dy^2), key minus query, tokens row-major on an S x S grid."""
    s = int(round(math.sqrt(n)))
    r = torch.arange(n) // s
    c = torch.arange(n) % s
    dx = (c[None, :] - c[:, None]).double()
    dy = (r[None, :] - r[:, None]).double()
    return torch.stack([dx, dy, dx * dx + dy * dy], dim=-1)  # [N, N, 3]


class GPSA(nn.Module):
    def __init__(self, dim, heads, qkv_bias=False, locality_strength=1.0):
        super().__init__()
        self.heads = heads
        self.dim = dim
        self.scale = (dim // heads) ** -0.5
        self.qk = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.pos_proj = nn.Linear(3, heads)
        self.gating_param = nn.Parameter(torch.ones(heads))
        self.locality_strength = locality_strength
        self.rel = None  # rel_indices(N) in the input's dtype and device, built on first use

    def rel_indices_like(self, n, x):
        """The [N, N, 3] table is a constant of the grid: built once (as timm's GPSA caches it),
        rebuilt only when N, the dtype or the device changes. A plain attribute, not a buffer, so
        the state dict holds only the parameters."""
        r = self.rel
        if r is None or r.shape[0] != n or r.dtype != x.dtype or r.device != x.device:
            self.rel = r = rel_indices(n).to(x)
        return r

    def local_init(self):
        with torch.no_grad():
            self.v.weight.copy_(torch.eye(self.dim))
            k = int(self.heads ** 0.5)
            c = (k - 1) / 2 if k % 2 == 0 else k // 2
            for h1 in range(k):
                for h2 in range(k):
                    self.pos_proj.weight[h1 + k * h2] = torch.tensor(
                        [2.0 * (h2 - c), 2.0 * (h1 - c), -1.0])
            self.pos_proj.weight.mul_(self.locality_strength)

    def forward(self, x):
        B, N, C = x.shape
        q, k = self.qk(x).reshape(B, N, 2, self.heads, C // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        content = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        # The positional scores do not depend on the image: one [1, H, N, N] map for the batch.
        pos = self.pos_proj(self.rel_indices_like(N, x)).permute(2, 0, 1).softmax(dim=-1)[None]
        g = torch.sigmoid(self.gating_param).view(1, -1, 1, 1)
        a = (1.0 - g) * content + g * pos
        a /= a.sum(dim=-1, keepdim=True)  # in place, as the released GPSA normalises
        v = self.v(x).reshape(B, N, self.heads, C // self.heads).permute(0, 2, 1, 3)
        return self.proj((a @ v).transpose(1, 2).reshape(B, N, C))


class Block(nn.Module):
    def __init__(self, dim, heads, qkv_bias, gpsa):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = GPSA(dim, heads, qkv_bias) if gpsa else Attention(dim, heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch, in_chans, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # [B, N, D], row-major tokens


class ConViT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, n = cfg["embed_dim"], (cfg["img_size"] // cfg["patch_size"]) ** 2
        self.local_up_to_layer = cfg["local_up_to_layer"]
        self.patch_embed = PatchEmbed(cfg["patch_size"], 3, D)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.zeros(1, n, D))
        self.blocks = nn.ModuleList([Block(D, cfg["num_heads"], False, i < self.local_up_to_layer)
                                     for i in range(cfg["depth"])])
        self.norm = nn.LayerNorm(D, eps=1e-6)
        self.head = nn.Linear(D, cfg["num_classes"])
        for m in self.modules():
            if isinstance(m, GPSA):
                m.local_init()

    def forward(self, x):
        x = self.patch_embed(x) + self.pos_embed
        for i, blk in enumerate(self.blocks):
            if i == self.local_up_to_layer:
                x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
            x = blk(x)
        return self.head(self.norm(x)[:, 0])


class DeiT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, n = cfg["embed_dim"], (cfg["img_size"] // cfg["patch_size"]) ** 2
        self.distilled = cfg["distilled"]
        self.patch_embed = PatchEmbed(cfg["patch_size"], 3, D)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        if self.distilled:
            self.dist_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1 + int(self.distilled), D))
        self.blocks = nn.ModuleList([Block(D, cfg["num_heads"], True, False) for _ in range(cfg["depth"])])
        self.norm = nn.LayerNorm(D, eps=1e-6)
        self.head = nn.Linear(D, cfg["num_classes"])
        if self.distilled:
            self.head_dist = nn.Linear(D, cfg["num_classes"])

    def forward(self, x):
        x = self.patch_embed(x)
        tokens = [self.cls_token.expand(x.shape[0], -1, -1)]
        if self.distilled:
            tokens.append(self.dist_token.expand(x.shape[0], -1, -1))
        x = torch.cat(tokens + [x], dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        if self.distilled:
            return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2
        return self.head(x[:, 0])


# --- configurations ------------------------------------------------------------------------------

CONFIGS = {
    "convit_ref": dict(arch="convit", img_size=16, patch_size=4, embed_dim=16, depth=3, num_heads=4,
                       local_up_to_layer=2, num_classes=10, distilled=False, qkv_bias=False),
    "deit_ref": dict(arch="deit", img_size=16, patch_size=4, embed_dim=24, depth=2, num_heads=3,
                     local_up_to_layer=0, num_classes=10, distilled=False, qkv_bias=True),
    "deit_distilled_ref": dict(arch="deit", img_size=8, patch_size=4, embed_dim=16, depth=2,
                               num_heads=2, local_up_to_layer=0, num_classes=10, distilled=True,
                               qkv_bias=True),
}
BATCH = 4


def timm_model(cfg):
    import functools
    import timm.models.convit as tc
    import timm.models.vision_transformer as tv
    norm = functools.partial(nn.LayerNorm, eps=1e-6)
    common = dict(img_size=cfg["img_size"], patch_size=cfg["patch_size"], num_classes=cfg["num_classes"],
                  depth=cfg["depth"], num_heads=cfg["num_heads"], norm_layer=norm)
    if cfg["arch"] == "convit":
        # timm's ConVit takes the width per head and multiplies it by num_heads.
        return tc.ConVit(embed_dim=cfg["embed_dim"] // cfg["num_heads"], local_up_to_layer=cfg["local_up_to_layer"],
                         **common)
    if cfg["distilled"]:
        import timm.models.deit as td
        return td.VisionTransformerDistilled(embed_dim=cfg["embed_dim"], qkv_bias=True, **common)
    return tv.VisionTransformer(embed_dim=cfg["embed_dim"], qkv_bias=True, **common)


# --- safetensors writer (the format is simple enough to write by hand) ---------------------------

def save_safetensors(path, tensors, metadata):
    dtypes = {torch.float64: "F64", torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_safetensors(path):
    """The tensors of a file written by save_safetensors (float64 / int64 / float32)."""
    dtypes = {"F64": torch.float64, "F32": torch.float32, "I64": torch.int64}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {k: torch.frombuffer(bytearray(data[v["data_offsets"][0]:v["data_offsets"][1]]),
                                dtype=dtypes[v["dtype"]]).reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}


def check(name, tensors, tol=1e-12):
    """Compares freshly computed tensors with the committed dump: after a change to the models
    (e.g. a faster form of the same maths for the benchmark peer) every value must agree up to
    float64 rounding. Returns True when all agree within tol x max(1, max |committed|)."""
    committed = load_safetensors(os.path.join(HERE, name + ".safetensors"))
    if set(committed) != set(tensors):
        print(f"{name}: tensor names differ from the committed file: {sorted(set(committed) ^ set(tensors))}")
        return False
    worst, where = 0.0, ""
    for k, want in committed.items():
        got = tensors[k].detach().to(want.dtype)
        err = (got - want).abs().max().item() / max(1.0, want.abs().max().item())
        if err > worst:
            worst, where = err, k
    ok = worst <= tol
    print(f"{name}: largest difference from the committed dump {worst:.2e} ({where or 'none'}), "
          f"{'ok' if ok else 'FAILED'} (tolerance {tol:g})")
    return ok


def make(name, cfg, use_timm, write=True):
    torch.manual_seed(sum(map(ord, name)))
    model = (ConViT if cfg["arch"] == "convit" else DeiT)(cfg).double()
    # Move every weight well away from its init so attention is neither uniform nor fully
    # positional and every gradient is exercised.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(BATCH, 3, cfg["img_size"], cfg["img_size"], dtype=torch.float64)
    labels = torch.randint(0, cfg["num_classes"], (BATCH,))
    if use_timm:
        ref = timm_model(cfg).double()
        ref.load_state_dict(model.state_dict(), strict=True)
        ref.eval()
        with torch.no_grad():
            diff = (ref(x) - model(x)).abs().max().item()
        print(f"{name}: timm vs independent implementation, max |logit diff| = {diff:.3g}")
        assert diff < 1e-10, "timm and the independent implementation disagree"
        model = ref
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    tensors = {"input": x, "labels": labels, "logits": logits, "loss": loss.reshape(1)}
    for n, p in model.named_parameters():
        tensors["param." + n] = p
        tensors["grad." + n] = p.grad
    meta = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in cfg.items()}
    meta["source"] = "timm" if use_timm else "independent"
    if not write:
        return check(name, tensors)
    path = os.path.join(HERE, name + ".safetensors")
    save_safetensors(path, tensors, meta)
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, loss {loss.item():.10f}, "
          f"wrote {os.path.getsize(path)} bytes to {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timm", action="store_true", help="also run timm's models (must be installed)")
    ap.add_argument("--check", action="store_true",
                    help="write nothing: recompute every dump and compare it with the committed file")
    args = ap.parse_args()
    if args.timm:
        # timm's GPSA builds its relative-index table with the default dtype.
        torch.set_default_dtype(torch.float64)
    results = [make(name, cfg, args.timm, write=not args.check) for name, cfg in CONFIGS.items()]
    if args.check and not all(results):
        raise SystemExit("make_reference: the models no longer reproduce the committed dumps")


if __name__ == "__main__":
    main()
