#!/usr/bin/env python3
"""Writes the float64 Refiner dumps that tests/models/test_refiner_reference.cpp compares against.

Refiner (Zhou et al. 2021, arXiv 2106.03714) in both of vitgrad's forms, as an independent PyTorch
implementation that follows the released code (zhoudaquan/Refiner_ViT, models/refined_transformer.py
and models/refiner_utils.py) in structure and parameter names:

- paper mode: DeiT / ConViT (the modules of make_reference.py) whose MHSA blocks refine their
  attention maps with DLA (1x1 expansion over heads, BN, ReLU6, depthwise 3x3 with TensorFlow-style
  "same" padding, BN, ReLU6, 1x1 reduction, BN, + the input) before multiplying the values;
- released mode: Refiner-ViT with alternating computing / sharing blocks, the attention residual,
  adjust_ratio 0.5, the MLP's per-channel scale, the conv stem (narrow widths here, to keep the
  dump small) and adapt_bn.

Each file holds the weights ("param.<name>"), the BatchNorm buffers before the forward
("buffer.<name>"), an input batch ("input"), labels ("labels"), and for each of "train" (batch
statistics; the running statistics are updated) and "eval" (running statistics): "<mode>.logits",
"<mode>.loss", "<mode>.grad.<name>" for every parameter, and for train the updated buffers
("train.buffer.<name>"). The configuration is in the safetensors "__metadata__".

Run with Debian's torch:  /usr/bin/python3 tests/reference/make_refiner_reference.py
"""
import copy
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

import make_reference as mr

HERE = os.path.dirname(os.path.abspath(__file__))


class DLA(nn.Module):
    """The released refine_mode 'conv_exapnd': expand heads, per-map k x k conv, reduce, residual."""

    def __init__(self, heads, expand=3, kernel=3):
        super().__init__()
        hidden = heads * expand
        self.kernel = kernel
        if expand != 1:
            self.conv_exp = nn.Conv2d(heads, hidden, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(hidden)
        self.depth_sep_conv = nn.Conv2d(hidden, hidden, kernel, groups=hidden, bias=False)
        self.bn2 = nn.BatchNorm2d(hidden)
        self.conv_pro = nn.Conv2d(hidden, heads, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(heads)

    def same_pad(self, x):
        # TensorFlow "same" at stride 1: k - 1 zeros in all, the smaller half before.
        total = self.kernel - 1
        lo = total // 2
        return F.pad(x, [lo, total - lo, lo, total - lo])

    def forward(self, a):
        x = a
        if hasattr(self, "conv_exp"):
            x = F.relu6(self.bn1(self.conv_exp(x)))
        x = F.relu6(self.bn2(self.depth_sep_conv(self.same_pad(x))))
        return self.bn3(self.conv_pro(x)) + a


# --- paper mode: DLA inside the MHSA of DeiT / ConViT ------------------------------------------

class RefinedMHSA(mr.Attention):
    def __init__(self, dim, heads, qkv_bias, expand, kernel):
        super().__init__(dim, heads, qkv_bias)
        self.DLA = DLA(heads, expand, kernel)

    def forward(self, x):
        B, T, C = x.shape
        qkv = self.qkv(x).reshape(B, T, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        a = ((qkv[0] @ qkv[1].transpose(-2, -1)) * self.scale).softmax(dim=-1)
        a = self.DLA(a)
        return self.proj((a @ qkv[2]).transpose(1, 2).reshape(B, T, C))


def paper_model(cfg):
    model = (mr.ConViT if cfg["arch"] == "convit" else mr.DeiT)(cfg)
    for blk in model.blocks:
        if isinstance(blk.attn, mr.Attention):
            blk.attn = RefinedMHSA(cfg["embed_dim"], cfg["num_heads"], cfg["qkv_bias"],
                                   cfg["refiner_expand"], cfg["refiner_kernel"])
    return model


# --- released mode ------------------------------------------------------------------------------

class RefinedAttention(nn.Module):
    """Computing blocks attend (plus the scaled previous map); sharing blocks refine that map."""

    def __init__(self, dim, heads, share, qkv_bias, expand, kernel):
        super().__init__()
        self.heads, self.share = heads, share
        self.scale = (dim // heads) ** -0.5
        if share:
            self.DLA = DLA(heads, expand, kernel)
            self.adapt_bn = nn.BatchNorm2d(heads)
            self.qkv = nn.Linear(dim, dim, bias=qkv_bias)  # the values only
        else:
            self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, prev):
        B, N, C = x.shape
        if self.share:
            a = self.adapt_bn(self.DLA(prev)) * self.scale  # no softmax after refining
            v = self.qkv(x).reshape(B, N, self.heads, C // self.heads).permute(0, 2, 1, 3)
            nxt = prev
        else:
            q, k, v = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
            # The released code scales q and k by sqrt(scale) each.
            a = ((q * math.sqrt(self.scale)) @ (k * math.sqrt(self.scale)).transpose(-2, -1)).softmax(-1)
            if prev is not None:
                a = a + prev * self.scale
            nxt = a
        return self.proj((a @ v).transpose(1, 2).reshape(B, N, C)), nxt


class RefinerMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.scale_channel = nn.Parameter(1e-5 * torch.ones(dim))
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.act = nn.GELU()

    def forward(self, x):
        return self.scale_channel * self.fc2(self.act(self.fc1(x)))


class RefinerBlock(nn.Module):
    def __init__(self, dim, heads, share, mlp_ratio, qkv_bias, expand, kernel):
        super().__init__()
        self.r = 0.5
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = RefinedAttention(dim, heads, share, qkv_bias, expand, kernel)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = RefinerMlp(dim, int(dim * mlp_ratio))

    def forward(self, x, prev):
        y, nxt = self.attn(self.norm1(x * self.r), prev)
        x = x + y / self.r
        return x + self.mlp(self.norm2(x * self.r)) / self.r, nxt


class ConvStem(nn.Module):
    def __init__(self, patch, in_chans, dim, widths):
        super().__init__()
        w0, w1, w2 = widths
        self.conv1 = nn.Conv2d(in_chans, w0, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w0)
        self.conv2 = nn.Conv2d(w0, w1, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(w1)
        self.conv3 = nn.Conv2d(w1, w2, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(w2)
        self.proj = nn.Conv2d(w2, dim, patch // 2, stride=patch // 2)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        return self.proj(x)


class RefinerViT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, n = cfg["embed_dim"], (cfg["img_size"] // cfg["patch_size"]) ** 2
        self.patch_embed = ConvStem(cfg["patch_size"], 3, D, cfg["refiner_stem"])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, D))
        self.blocks = nn.ModuleList([
            RefinerBlock(D, cfg["num_heads"], i % 2 == 1, cfg["mlp_ratio"], cfg["qkv_bias"],
                         cfg["refiner_expand"], cfg["refiner_kernel"]) for i in range(cfg["depth"])])
        self.norm = nn.LayerNorm(D, eps=1e-6)
        self.head = nn.Linear(D, cfg["num_classes"])

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        a = None
        for blk in self.blocks:
            x, a = blk(x, a)
        return self.head(self.norm(x)[:, 0])


# --- configurations and dumps ---------------------------------------------------------------------

COMMON = dict(img_size=16, patch_size=4, num_classes=10, distilled=False, refiner_expand=3,
              refiner_kernel=3, local_up_to_layer=0)
CONFIGS = {
    "refiner_deit_ref": dict(COMMON, arch="deit", embed_dim=8, depth=2, num_heads=2, qkv_bias=True,
                             mlp_ratio=4.0),
    "refiner_convit_ref": dict(COMMON, arch="convit", embed_dim=8, depth=3, num_heads=4,
                               local_up_to_layer=2, qkv_bias=False, mlp_ratio=4.0),
    "refiner_vit_ref": dict(COMMON, arch="refiner", embed_dim=8, depth=4, num_heads=2, qkv_bias=True,
                            mlp_ratio=3.0, refiner_stem=[4, 8, 8]),
}
BATCH = 4


def perturb(model, scale=0.3):
    """Moves every weight and running statistic well away from its init."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.add_(0.2 * torch.randn_like(m.running_mean))
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(3)


def run(model, x, labels, train, tensors, prefix):
    m = copy.deepcopy(model)
    m.train(train)
    logits = m(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    tensors[prefix + "logits"] = logits
    tensors[prefix + "loss"] = loss.reshape(1)
    for n, p in m.named_parameters():
        tensors[prefix + "grad." + n] = p.grad
    if train:
        for n, b in m.named_buffers():
            tensors[prefix + "buffer." + n] = b
    return loss.item()


def make(name, cfg, build=None, perturb_scale=0.3, run=run):
    """Builds (`build(cfg)`, by default Refiner-ViT or the paper-mode model), perturbs, runs train
    and eval mode through `run` and writes <name>.safetensors. make_fcvit_reference.py reuses it."""
    torch.manual_seed(sum(map(ord, name)))
    if build is None:
        build = RefinerViT if cfg["arch"] == "refiner" else paper_model
    model = build(cfg).double()
    perturb(model, perturb_scale)
    x = torch.randn(BATCH, 3, cfg["img_size"], cfg["img_size"], dtype=torch.float64)
    labels = torch.randint(0, cfg["num_classes"], (BATCH,))
    tensors = {"input": x, "labels": labels}
    for n, p in model.named_parameters():
        tensors["param." + n] = p
    for n, b in model.named_buffers():
        tensors["buffer." + n] = b
    losses = [run(model, x, labels, train, tensors, prefix)
              for train, prefix in ((True, "train."), (False, "eval."))]
    meta = {k: (",".join(map(str, v)) if isinstance(v, list) else str(v).lower() if isinstance(v, bool)
                else str(v)) for k, v in cfg.items()}
    path = os.path.join(HERE, name + ".safetensors")
    mr.save_safetensors(path, tensors, meta)
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, loss train "
          f"{losses[0]:.10f} eval {losses[1]:.10f}, wrote {os.path.getsize(path)} bytes")


def main():
    for name, cfg in CONFIGS.items():
        make(name, cfg)


if __name__ == "__main__":
    main()
