#!/usr/bin/env python3
"""PyTorch training of the independent ConViT/DeiT of make_reference.py with vitgrad's default recipe.

The model classes come from make_reference.py (written from the ConViT and DeiT papers and timm's
structure); this script adds what training needs and the reference dumps do not: the timm-0.3 init
(vision_transformer.py _init_weights), drop path (timm's DropPath), and the whole DeiT/ConViT recipe
as docs/training.md changes it for CIFAR, written here from the timm 0.3 code it follows:
RandomCrop(32, pad 4) + hflip, RandAugment rand-m9-mstd0.5-inc1 on PIL images (bicubic, fill = the
normalisation mean), CIFAR mean/std, random erasing 0.25 (pixel mode), batch-mode mixup 0.8 / cutmix
1.0 (switch 0.5) with label smoothing 0.1 folded into soft targets, soft-target cross-entropy, AdamW
with timm's no-decay set, linear warm-up + cosine (per epoch with timm's offset, or per step).

The random streams are Python's `random`, numpy's and torch's generators seeded with --seed; they
are not vitgrad's Philox streams, so only the recipe and the seed value are shared, not the draws.

Run with Debian's torch:
  /usr/bin/python3 tests/reference/train_reference.py --model convit_cifar_micro --epochs 3 \
      --warmup-epochs 1 --sched-per-step --threads 1 --out runs/ref/metrics.jsonl
Each epoch prints one line and appends one JSON object to --out.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageEnhance, ImageOps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_reference as ref  # noqa: E402  (the independent model implementation)

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)

# vitgrad's models/registry.cpp CIFAR entries: (arch, D, H, L, L_loc); img 32, patch 4, K = 10.
MODELS = {
    "convit_cifar_micro": ("convit", 96, 4, 4, 3),
    "convit_cifar_tiny": ("convit", 192, 4, 12, 10),
    "convit_cifar_small": ("convit", 432, 9, 12, 10),
    "deit_cifar_micro": ("deit", 96, 4, 4, 0),
    "deit_cifar_tiny": ("deit", 192, 3, 12, 0),
    "deit_cifar_small": ("deit", 384, 6, 12, 0),
}


# --- data -----------------------------------------------------------------------------------------

def load_cifar10(root, train, limit):
    files = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
    raw = b"".join(open(os.path.join(root, f), "rb").read() for f in files)
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3073)
    if limit > 0:
        rec = rec[:limit]
    labels = rec[:, 0].astype(np.int64)
    images = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()  # HWC uint8
    return images, labels


# --- RandAugment (timm 0.3 auto_augment.py, "increasing" op set) ----------------------------------

MAX_LEVEL = 10.0


def _negate(v):
    return -v if random.random() > 0.5 else v


def _affine(img, matrix, hp):
    return img.transform(img.size, Image.AFFINE, matrix, resample=hp["resample"], fillcolor=hp["fill"])


def _rotate(img, deg, hp):
    return img.rotate(deg, resample=hp["resample"], fillcolor=hp["fill"])


def _solarize_add(img, add, hp, thresh=128):
    lut = [min(255, i + add) if i < thresh else i for i in range(256)]
    return img.point(lut * len(img.getbands()))


def _posterize(img, bits, hp):
    return img if bits >= 8 else ImageOps.posterize(img, bits)


def _enhance(cls):
    return lambda img, f, hp: cls(img).enhance(f)


def _lvl_enhance_inc(m, hp):
    return (1.0 + _negate(m / MAX_LEVEL * 0.9),)


# name -> (op(img, *args, hp), level -> args)
RA_OPS = {
    "AutoContrast": (lambda img, hp: ImageOps.autocontrast(img), lambda m, hp: ()),
    "Equalize": (lambda img, hp: ImageOps.equalize(img), lambda m, hp: ()),
    "Invert": (lambda img, hp: ImageOps.invert(img), lambda m, hp: ()),
    "Rotate": (_rotate, lambda m, hp: (_negate(m / MAX_LEVEL * 30.0),)),
    "PosterizeIncreasing": (_posterize, lambda m, hp: (4 - int(m / MAX_LEVEL * 4),)),
    "SolarizeIncreasing": (lambda img, t, hp: ImageOps.solarize(img, t),
                           lambda m, hp: (256 - int(m / MAX_LEVEL * 256),)),
    "SolarizeAdd": (_solarize_add, lambda m, hp: (int(m / MAX_LEVEL * 110),)),
    "ColorIncreasing": (_enhance(ImageEnhance.Color), _lvl_enhance_inc),
    "ContrastIncreasing": (_enhance(ImageEnhance.Contrast), _lvl_enhance_inc),
    "BrightnessIncreasing": (_enhance(ImageEnhance.Brightness), _lvl_enhance_inc),
    "SharpnessIncreasing": (_enhance(ImageEnhance.Sharpness), _lvl_enhance_inc),
    "ShearX": (lambda img, f, hp: _affine(img, (1, f, 0, 0, 1, 0), hp),
               lambda m, hp: (_negate(m / MAX_LEVEL * 0.3),)),
    "ShearY": (lambda img, f, hp: _affine(img, (1, 0, 0, f, 1, 0), hp),
               lambda m, hp: (_negate(m / MAX_LEVEL * 0.3),)),
    "TranslateXRel": (lambda img, p, hp: _affine(img, (1, 0, p * img.size[0], 0, 1, 0), hp),
                      lambda m, hp: (_negate(m / MAX_LEVEL * hp["translate_pct"]),)),
    "TranslateYRel": (lambda img, p, hp: _affine(img, (1, 0, 0, 0, 1, p * img.size[1]), hp),
                      lambda m, hp: (_negate(m / MAX_LEVEL * hp["translate_pct"]),)),
}


class RandAugment:
    """rand-m9-mstd0.5-inc1: n ops drawn with replacement, each applied with p, magnitude N(m, std)."""

    def __init__(self, n=2, m=9.0, mstd=0.5, prob=0.5):
        self.n, self.m, self.mstd, self.prob = n, m, mstd, prob
        self.names = list(RA_OPS)
        self.hp = dict(resample=Image.BICUBIC, fill=tuple(int(round(x * 255)) for x in MEAN),
                       translate_pct=0.45)

    def __call__(self, img):
        for name in np.random.choice(self.names, self.n, replace=True):
            if self.prob < 1.0 and random.random() > self.prob:
                continue
            m = self.m
            if self.mstd > 0:
                m = random.gauss(m, self.mstd)
            m = min(MAX_LEVEL, max(0.0, m))
            op, level = RA_OPS[name]
            img = op(img, *level(m, self.hp), self.hp)
        return img


# --- per-image and per-batch augmentation ---------------------------------------------------------

def random_crop_flip(hwc, pad=4):
    h, w = hwc.shape[:2]
    padded = np.zeros((h + 2 * pad, w + 2 * pad, 3), dtype=np.uint8)
    padded[pad:pad + h, pad:pad + w] = hwc
    top, left = random.randint(0, 2 * pad), random.randint(0, 2 * pad)
    out = padded[top:top + h, left:left + w]
    if random.random() < 0.5:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def random_erase(x, prob=0.25, min_area=0.02, max_area=1 / 3, min_aspect=0.3):
    """timm RandomErasing, mode 'pixel', one box, on a normalised [C, H, W] tensor (in place)."""
    if random.random() > prob:
        return
    c, h, w = x.shape
    log_ratio = (math.log(min_aspect), math.log(1 / min_aspect))
    for _ in range(10):
        target = random.uniform(min_area, max_area) * h * w
        aspect = math.exp(random.uniform(*log_ratio))
        eh = int(round(math.sqrt(target * aspect)))
        ew = int(round(math.sqrt(target / aspect)))
        if ew < w and eh < h:
            top, left = random.randint(0, h - eh), random.randint(0, w - ew)
            x[:, top:top + eh, left:left + ew] = torch.empty((c, eh, ew)).normal_()
            return


def mix_batch(x, y, num_classes, mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5,
              smoothing=0.1):
    """timm Mixup, mode 'batch' (partner = reversed batch), correct_lam; returns soft targets."""
    lam = 1.0
    if mixup_alpha > 0 or cutmix_alpha > 0:
        use_cutmix = np.random.rand() < switch_prob
        lam = float(np.random.beta(cutmix_alpha, cutmix_alpha) if use_cutmix
                    else np.random.beta(mixup_alpha, mixup_alpha))
        if use_cutmix:
            h, w = x.shape[-2:]
            ratio = math.sqrt(1 - lam)
            ch, cw = int(h * ratio), int(w * ratio)
            cy, cx = np.random.randint(0, h), np.random.randint(0, w)
            yl, yh = np.clip(cy - ch // 2, 0, h), np.clip(cy + ch // 2, 0, h)
            xl, xh = np.clip(cx - cw // 2, 0, w), np.clip(cx + cw // 2, 0, w)
            x[:, :, yl:yh, xl:xh] = x.flip(0)[:, :, yl:yh, xl:xh]
            lam = 1.0 - (yh - yl) * (xh - xl) / float(h * w)
        else:
            partner = x.flip(0).mul_(1.0 - lam)  # before x is scaled in place
            x.mul_(lam).add_(partner)
    off = smoothing / num_classes
    on = 1.0 - smoothing + off
    y1 = torch.full((y.shape[0], num_classes), off).scatter_(1, y[:, None], on)
    y2 = torch.full((y.shape[0], num_classes), off).scatter_(1, y.flip(0)[:, None], on)
    return y1 * lam + y2 * (1.0 - lam)


MEAN_T = torch.tensor(MEAN).view(3, 1, 1)
STD_T = torch.tensor(STD).view(3, 1, 1)


def train_batch(images, labels, idx, ra, num_classes):
    xs = []
    for i in idx:
        img = Image.fromarray(random_crop_flip(images[i]))
        img = ra(img)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0)
        x = (x - MEAN_T) / STD_T
        random_erase(x)
        xs.append(x)
    x = torch.stack(xs)
    y = torch.from_numpy(labels[idx])
    return x, mix_batch(x, y, num_classes)


# --- model: timm-0.3 init and drop path on top of make_reference's classes ------------------------

def drop_path(x, p, training):
    if p == 0.0 or not training:
        return x
    keep = 1.0 - p
    mask = (keep + torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype)).floor_()
    return x.div(keep) * mask


def block_forward(self, x):
    x = x + drop_path(self.attn(self.norm1(x)), self.drop_path_rate, self.training)
    return x + drop_path(self.mlp(self.norm2(x)), self.drop_path_rate, self.training)


def build_model(name, drop_path_rate):
    arch, D, H, L, L_loc = MODELS[name]
    cfg = dict(arch=arch, img_size=32, patch_size=4, embed_dim=D, depth=L, num_heads=H,
               local_up_to_layer=L_loc, num_classes=10, distilled=False, qkv_bias=arch == "deit")
    model = (ref.ConViT if arch == "convit" else ref.DeiT)(cfg)
    # timm-0.3 _init_weights: Linear trunc_normal(0.02) (cut-offs +-2 absolute), bias 0; LayerNorm
    # 1/0; pos_embed and cls_token trunc_normal(0.02); Conv2d keeps PyTorch's default.
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02, a=-2.0, b=2.0)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    nn.init.trunc_normal_(model.pos_embed, std=0.02, a=-2.0, b=2.0)
    nn.init.trunc_normal_(model.cls_token, std=0.02, a=-2.0, b=2.0)
    # ConViT then overwrites v and pos_proj with the local init (convit.py local_init), gates stay 1.
    for m in model.modules():
        if isinstance(m, ref.GPSA):
            m.local_init()
    for i, blk in enumerate(model.blocks):
        blk.drop_path_rate = drop_path_rate * i / (L - 1) if L > 1 else 0.0
        blk.forward = block_forward.__get__(blk)
    return model


def param_groups(model, weight_decay):
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if p.dim() <= 1 or n.endswith(".bias") or n in ("pos_embed", "cls_token", "dist_token"):
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": weight_decay}]


def cosine_lr(t, lr, warmup_lr, min_lr, warmup, t_initial):
    if t < warmup:
        return warmup_lr + t * (lr - warmup_lr) / warmup
    if t >= t_initial:
        return min_lr
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * t / t_initial))


@torch.no_grad()
def evaluate(model, images, labels, batch):
    model.eval()
    correct, loss_sum = 0, 0.0
    for s in range(0, len(labels), batch):
        x = torch.from_numpy(images[s:s + batch].transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
        x = (x - MEAN_T) / STD_T
        y = torch.from_numpy(labels[s:s + batch])
        out = model(x)
        loss_sum += F.cross_entropy(out, y, reduction="sum").item()
        correct += (out.argmax(1) == y).sum().item()
    return correct / len(labels), loss_sum / len(labels)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="convit_cifar_micro", choices=sorted(MODELS))
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--data-dir",
                    default=os.path.join(repo, "..", "shared", "data", "cifar-10-batches-bin"))
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--base-lr", type=float, default=5e-4)
    ap.add_argument("--lr-base-batch", type=int, default=512)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--warmup-epochs", type=float, default=5)
    ap.add_argument("--warmup-lr", type=float, default=1e-6)
    ap.add_argument("--min-lr", type=float, default=1e-5)
    ap.add_argument("--sched-per-step", action="store_true")
    ap.add_argument("--drop-path", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit-train", type=int, default=0)
    ap.add_argument("--limit-test", type=int, default=0)
    ap.add_argument("--out", default="runs/reference/metrics.jsonl")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    train_x, train_y = load_cifar10(args.data_dir, True, args.limit_train)
    test_x, test_y = load_cifar10(args.data_dir, False, args.limit_test)
    model = build_model(args.model, args.drop_path)
    n_params = sum(p.numel() for p in model.parameters())
    lr = args.base_lr * args.batch_size / args.lr_base_batch
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    ra = RandAugment()
    steps = len(train_y) // args.batch_size  # drop_last, as timm's training loader
    print(f"model {args.model}: {n_params} parameters; train {len(train_y)}, test {len(test_y)}; "
          f"batch {args.batch_size}, lr {lr:g}, {steps} steps/epoch, threads {args.threads}", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    open(args.out, "w").close()
    perm_gen = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_y), generator=perm_gen).numpy()
        t0, loss_sum, data_s = time.time(), 0.0, 0.0
        for step in range(steps):
            if args.sched_per_step:
                cur = cosine_lr(epoch * steps + step, lr, args.warmup_lr, args.min_lr,
                                args.warmup_epochs * steps, args.epochs * steps)
            else:  # timm's per-epoch stepping: epochs 0 and 1 both use sched(0)
                cur = cosine_lr(max(epoch - 1, 0), lr, args.warmup_lr, args.min_lr,
                                args.warmup_epochs, args.epochs)
            for g in opt.param_groups:
                g["lr"] = cur
            td = time.time()
            x, target = train_batch(train_x, train_y, order[step * args.batch_size:(step + 1) * args.batch_size],
                                    ra, 10)
            data_s += time.time() - td
            loss = torch.sum(-target * F.log_softmax(model(x), dim=-1), dim=-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            if (step + 1) % 20 == 0:
                print(f"  epoch {epoch} step {step + 1}/{steps} loss {loss.item():.4f} lr {cur:.3g} "
                      f"{(step + 1) * args.batch_size / (time.time() - t0):.1f} img/s", flush=True)
        train_s = time.time() - t0
        top1, test_loss = evaluate(model, test_x, test_y, 500)
        rec = dict(epoch=epoch, lr=cur, train_loss=loss_sum / max(steps, 1), test_loss=test_loss,
                   top1=top1, epoch_seconds=time.time() - t0, train_seconds=train_s, data_seconds=data_s,
                   images_per_s=steps * args.batch_size / train_s, params=n_params)
        print(f"epoch {epoch}: train_loss {rec['train_loss']:.4f} test_loss {test_loss:.4f} "
              f"top1 {100 * top1:.2f}% {rec['images_per_s']:.1f} img/s (augmentation {data_s:.1f} s "
              f"of {train_s:.1f} s)", flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
