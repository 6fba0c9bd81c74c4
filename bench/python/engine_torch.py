"""PyTorch yardstick for `npm run bench -- engine`: the slicewise engine's U-Net written the usual PyTorch
way (nn modules, InstanceNorm, NCHW, autograd loss), trained and run on the same batch with the same
threads. Run with Debian's /usr/bin/python3 (python3-torch).

usage: engine_torch.py '<json spec>'   spec: {dims, depth, base, classes, shape, data, threads, seed,
       mode: "train" | "infer", warmup, repeats, ignore}
Prints one JSON line: {seconds: [...], cpu_seconds: [...], checksum0, peak_rss_mib, loss}.
"""
import json
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def block(dims, cin, cout, stride):
    conv = (nn.Conv2d if dims == 2 else nn.Conv3d)(cin, cout, 3, stride, 1)
    norm = (nn.InstanceNorm2d if dims == 2 else nn.InstanceNorm3d)(cout, eps=1e-5, affine=True)
    return nn.Sequential(conv, norm, nn.LeakyReLU(0.01, inplace=True))


class DecoderStage(nn.Module):
    def __init__(self, dims, below, width, classes, head):
        super().__init__()
        self.up = (nn.ConvTranspose2d if dims == 2 else nn.ConvTranspose3d)(below, width, 2, 2)
        self.blocks = nn.Sequential(block(dims, 2 * width, width, 1), block(dims, width, width, 1))
        self.head = (nn.Conv2d if dims == 2 else nn.Conv3d)(width, classes, 1) if head else None


class UNet(nn.Module):
    """nnU-Net layout; modules registered in the order slicewise initializes them."""

    def __init__(self, dims, cin, classes, depth, base, max_width):
        super().__init__()
        widths = [min(base * 2 ** s, max_width) for s in range(depth)]
        self.encoder = nn.ModuleList(
            nn.Sequential(block(dims, cin if s == 0 else widths[s - 1], widths[s], 1 if s == 0 else 2),
                          block(dims, widths[s], widths[s], 1)) for s in range(depth))
        self.decoder = nn.ModuleList(
            DecoderStage(dims, widths[s + 1], widths[s], classes, s == 0) for s in range(depth - 2, -1, -1))

    def forward(self, x):
        skips = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        for i, stage in enumerate(self.decoder):
            x = stage.blocks(torch.cat((stage.up(x), skips[-(i + 2)]), 1))
        return self.decoder[-1].head(x)


def init_he(model, seed):
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            nn.init.kaiming_normal_(m.weight, a=1e-2)
            nn.init.zeros_(m.bias)


def dice_ce_loss(logits, target, ignore):
    """Cross-entropy + (1 - mean foreground soft Dice, batch Dice) over voxels whose label != ignore."""
    mask = target != ignore
    target = torch.where(mask, target, torch.zeros_like(target))
    ce = F.cross_entropy(logits, target, reduction='none')
    m = mask.to(logits.dtype)
    annotated = m.sum()
    if annotated == 0:
        return logits.sum() * 0
    ce = (ce * m).sum() / annotated
    probs = torch.softmax(logits, 1)
    onehot = torch.zeros_like(probs).scatter_(1, target.unsqueeze(1), 1)
    m = m.unsqueeze(1)
    axes = [0] + list(range(2, logits.ndim))
    inter = (probs * onehot * m).sum(axes)[1:]
    psum = (probs * m).sum(axes)[1:]
    gsum = (onehot * m).sum(axes)[1:]
    dice = (2 * inter + 1e-5) / (psum + gsum + 1e-5)
    return ce + 1 - dice.mean()


def checksum(model):
    return float(sum(p.double().sum() + 0.5 * p.double().pow(2).sum() for p in model.parameters()))


def main():
    spec = json.loads(sys.argv[1])
    torch.set_num_threads(spec['threads'])
    dims, shape = spec['dims'], spec['shape']
    model = UNet(dims, shape[1], spec['classes'], spec['depth'], spec['base'], 512 if dims == 2 else 320)
    init_he(model, spec['seed'])
    checksum0 = checksum(model)
    n_images = int(np.prod(shape))
    raw = np.fromfile(spec['data'], dtype=np.uint8)
    images = torch.from_numpy(raw[:n_images * 4].view(np.float32).reshape(shape).copy())
    labels = torch.from_numpy(raw[n_images * 4:].reshape([shape[0]] + shape[2:]).copy())
    seconds, cpu_seconds, loss_value = [], [], None
    if spec['mode'] == 'train':
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.99, nesterov=True, weight_decay=3e-5)
        for i in range(spec['warmup'] + spec['repeats']):
            t0, c0 = time.perf_counter(), time.process_time()
            for g in opt.param_groups:
                g['lr'] = 1e-2 * (1 - i / 1000) ** 0.9
            loss = dice_ce_loss(model(images), labels.long(), spec['ignore'])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 12)
            opt.step()
            opt.zero_grad(set_to_none=True)
            loss_value = loss.item()
            if i >= spec['warmup']:
                seconds.append(time.perf_counter() - t0)
                cpu_seconds.append(time.process_time() - c0)
    else:
        model.eval()
        with torch.inference_mode():
            for i in range(spec['warmup'] + spec['repeats']):
                t0, c0 = time.perf_counter(), time.process_time()
                probs = torch.softmax(model(images), 1)
                if i >= spec['warmup']:
                    seconds.append(time.perf_counter() - t0)
                    cpu_seconds.append(time.process_time() - c0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({'seconds': seconds, 'cpu_seconds': cpu_seconds, 'checksum0': checksum0, 'peak_rss_mib': round(peak, 1), 'loss': loss_value}))


if __name__ == '__main__':
    main()
