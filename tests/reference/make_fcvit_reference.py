#!/usr/bin/env python3
"""Writes the float64 FCViT dump that tests/models/test_fcvit_reference.cpp compares against.

FCViT (Ma et al. 2022, arXiv 2212.12552) as an independent PyTorch implementation that follows the
released code (ma-xu/FCViT, models/fcvit.py, with the settings of its registered models: weighted
and competitive global context with 8 groups, two token-mixing rounds with 11 x 11 depthwise
kernels, spatial and channel attention off) in structure and parameter names, so that the released
state-dict names are the ones vitgrad loads strictly.

The configuration is tiny so that the dump stays small: widths 8/8/8/16, one block per stage, a
16 x 16 input with the stride-2 stem of vitgrad's CIFAR sizes (maps of 8, 4, 2 and 1 positions a
side: the last stage standardises over the groups alone and its 11 x 11 kernels see only their
centre tap). The file holds the weights
("param.<name>"), the BatchNorm buffers before the forward ("buffer.<name>"), an input batch
("input"), labels ("labels"), and for each of "train" (batch statistics; the running statistics are
updated) and "eval" (running statistics): "<mode>.logits", "<mode>.loss", "<mode>.grad.<name>" for
every parameter, and for train the updated buffers ("train.buffer.<name>"). Every global context's
standardised similarity of the eval forward is stored as "eval.similarity.<i>" [B, G, H, W], in
forward order. The configuration is in the safetensors "__metadata__".

Run with Debian's torch:  /usr/bin/python3 tests/reference/make_fcvit_reference.py
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

import make_refiner_reference as refiner_ref

HERE = os.path.dirname(os.path.abspath(__file__))
RECORD = None  # a list while every GlobalContext's s-hat is recorded (module-level: survives deepcopy)


def fan_out_init(conv):
    """N(0, 2 / fan_out) with fan_out = k * k * out / groups, bias 0 (the released _init_weights)."""
    k = conv.kernel_size[0] * conv.kernel_size[1]
    nn.init.normal_(conv.weight, 0.0, (2.0 / (k * conv.out_channels // conv.groups)) ** 0.5)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


class GlobalContext(nn.Module):
    def __init__(self, dim, groups):
        super().__init__()
        self.groups = groups
        self.fc1 = nn.Linear(dim, 2 * dim // 8)  # two competing halves
        self.fc2 = nn.Linear(dim // 8, dim)
        self.rescale_weight = nn.Parameter(torch.ones(groups))
        self.rescale_bias = nn.Parameter(torch.zeros(groups))
        for fc in (self.fc1, self.fc2):
            nn.init.trunc_normal_(fc.weight, std=0.02)
            nn.init.zeros_(fc.bias)

    def forward(self, x):
        B, C, H, W = x.shape
        G, c = self.groups, C // self.groups
        pooled = x.mean(dim=(2, 3))                                   # [B, C]
        xs = x.reshape(B, G, c, H * W)
        s = torch.einsum("bgcn,bgc->bgn", xs, pooled.reshape(B, G, c)) / c ** 0.5
        std, mu = torch.std_mean(s, dim=(1, 2), keepdim=True)         # unbiased, as released
        s = (s - mu) / (std + 1e-5)
        s = s * self.rescale_weight.view(1, G, 1) + self.rescale_bias.view(1, G, 1)
        if RECORD is not None:
            RECORD.append(s.detach().reshape(B, G, H, W))
        halves = self.fc1(pooled).reshape(B, 2, C // 8)
        gc = self.fc2(halves.max(dim=1).values)                       # [B, C]
        return (s.unsqueeze(2) * gc.reshape(B, G, c, 1)).reshape(B, C, H, W)


class Bottleneck(nn.Sequential):
    def __init__(self, dim, hidden):
        super().__init__(fan_out_init(nn.Conv2d(dim, hidden, 1)), nn.GELU(),
                         fan_out_init(nn.Conv2d(hidden, dim, 1)))


class TokenMixer(nn.Module):
    def __init__(self, dim, kernel, groups):
        super().__init__()
        hidden = max(dim // 8, 16)
        self.gc1 = GlobalContext(dim, groups)
        self.dw1 = fan_out_init(nn.Conv2d(dim, dim, kernel, padding=kernel // 2, groups=dim))
        self.fc1 = Bottleneck(dim, hidden)
        self.gc2 = GlobalContext(dim, groups)
        self.dw2 = fan_out_init(nn.Conv2d(dim, dim, kernel, padding=kernel // 2, groups=dim))
        self.fc2 = Bottleneck(dim, hidden)

    def forward(self, x):
        x = x + self.gc1(x)
        x = F.gelu(self.fc1(self.dw1(x)))
        x = x + self.gc2(x)
        return F.gelu(self.fc2(self.dw2(x)))


class ChannelMixer(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = fan_out_init(nn.Conv2d(dim, hidden, 1))
        self.dwconv = fan_out_init(nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden))
        self.fc2 = fan_out_init(nn.Conv2d(hidden, dim, 1))

    def forward(self, x):
        return self.fc2(F.gelu(self.dwconv(self.fc1(x))))


class Block(nn.Module):
    def __init__(self, dim, ratio, kernel, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(1, dim)
        self.token_mixer = TokenMixer(dim, kernel, groups)
        self.norm2 = nn.GroupNorm(1, dim)
        self.channel_mixer = ChannelMixer(dim, dim * ratio)
        self.layer_scale_1 = nn.Parameter(torch.full((dim,), 1e-5))
        self.layer_scale_2 = nn.Parameter(torch.full((dim,), 1e-5))

    def forward(self, x):
        x = x + self.layer_scale_1.view(1, -1, 1, 1) * self.token_mixer(self.norm1(x))
        return x + self.layer_scale_2.view(1, -1, 1, 1) * self.channel_mixer(self.norm2(x))


class ConvBN(nn.Module):
    """The released OverlapPatchEmbed: conv with padding kernel // 2, then BatchNorm2d."""

    def __init__(self, cin, cout, kernel, stride):
        super().__init__()
        self.proj = fan_out_init(nn.Conv2d(cin, cout, kernel, stride, kernel // 2))
        self.norm = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.norm(self.proj(x))


class FCViT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, w, r = cfg["fcvit_depths"], cfg["fcvit_widths"], cfg["fcvit_mlp_ratios"]
        self.patch_embed = ConvBN(3, w[0], 7, cfg["patch_size"])
        layers = []
        for s in range(4):
            layers.append(nn.Sequential(*[Block(w[s], r[s], cfg["fcvit_kernel"], cfg["num_heads"])
                                          for _ in range(d[s])]))
            if s < 3:
                layers.append(ConvBN(w[s], w[s + 1], 3, 2))
        self.network = nn.ModuleList(layers)
        self.norm = nn.GroupNorm(1, w[3])
        self.head = nn.Linear(w[3], cfg["num_classes"])

    def forward(self, x):
        x = self.patch_embed(x)
        for layer in self.network:
            x = layer(x)
        return self.head(self.norm(x).mean(dim=(2, 3)))


CFG = dict(arch="fcvit", img_size=16, patch_size=2, num_classes=10, num_heads=8,
           fcvit_depths=[1, 1, 1, 1], fcvit_widths=[8, 8, 8, 16], fcvit_mlp_ratios=[2, 2, 1, 1],
           fcvit_kernel=11)
# Four images (make_refiner_reference.BATCH): with 2, training-mode BatchNorm of the 1 x 1 last
# stage would normalise 2 values, which leaves float32 gradients (PyTorch's too) 5e-4 off.
assert refiner_ref.BATCH == 4


def run(model, x, labels, train, tensors, prefix):
    """make_refiner_reference.run (a copy of the model, one forward and backward), recording every
    global context's similarity in eval mode."""
    global RECORD
    RECORD = None if train else []
    loss = refiner_ref.run(model, x, labels, train, tensors, prefix)
    for i, s in enumerate(RECORD or []):
        tensors[f"{prefix}similarity.{i}"] = s
    RECORD = None
    return loss


def main():
    # Weights away from their init (LayerScales of 1e-5 would hide the mixers' gradients), but
    # not as far as the other dumps: 0.3 leaves float32 gradients (PyTorch's too) 5e-4 off.
    refiner_ref.make("fcvit_ref", CFG, build=FCViT, perturb_scale=0.1, run=run)


if __name__ == "__main__":
    main()
