"""Every ``check_*`` of reidlib.exercises against plausible wrong answers.

For each check: a right answer written here, independently of the library and the chapters,
must pass; every wrong answer in ``WRONG`` (off-by-one, swapped sign or axis, wrong
normalisation, an ignored mask, a biased sampler, a shortcut that only fits the hand-made
case, missing temporal context, ...) must raise ``CheckFailed``. A test makes sure that every
check has a right answer and at least three wrong ones, and another that all checks together
stay fast.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from test_exercises_ch11 import RIGHT as RIGHT_CH11
from test_exercises_ch11 import WRONG as WRONG_CH11
from test_exercises_ch13 import RIGHT as RIGHT_CH13
from test_exercises_ch13 import WRONG as WRONG_CH13
from torch import nn

import reidlib.exercises as ex
from reidlib.exercises import CheckFailed


# ------------------------------------------------------------------ chapter 1
def rank_gallery(q, g):
    return np.argsort(np.linalg.norm(g - q, axis=1), kind="stable")


def pairwise(a, b):
    return np.sqrt(np.maximum(((a[:, None] - b[None]) ** 2).sum(-1), 0))


def _expansion(a, b, clamp=True):
    d2 = (a**2).sum(1)[:, None] + (b**2).sum(1)[None] - 2 * a @ b.T
    return np.sqrt(np.maximum(d2, 0) if clamp else d2)


# ------------------------------------------------------------------ chapter 2
def sort_frames(names):
    return sorted(names, key=lambda n: int(re.findall(r"\d+", n)[-1]))


def split_persons(pids, fraction, rng):
    persons = np.unique(pids)
    rng.shuffle(persons)
    cut = round(fraction * len(persons))
    return persons[:cut].tolist(), persons[cut:].tolist()


def sample_window(n, length, rng):
    if n <= length:
        return [i % n for i in range(length)]
    start = int(rng.integers(n - length + 1))
    return list(range(start, start + length))


def _window_from(start_of):
    def sampler(n, length, rng):
        if n <= length:
            return np.arange(length) % n
        s = start_of(n, length, rng)
        return np.arange(s, s + length)

    return sampler


_calls = {"n": 0}


def _cycling_start(n, length, rng):
    _calls["n"] += 1
    return _calls["n"] % (n - length + 1)


# ------------------------------------------------------------------ chapter 3
def solve_2x2(a, b, c, p, q, min_eig):
    a, b, c, p, q = np.broadcast_arrays(*(np.asarray(x, float) for x in (a, b, c, p, q)))
    m = np.stack([np.stack([a, b], -1), np.stack([b, c], -1)], -2)  # (..., 2, 2)
    lam = np.linalg.eigvalsh(m)[..., 0]
    ok = lam > min_eig
    m = np.where(ok[..., None, None], m, np.eye(2))
    sol = np.linalg.solve(m, -np.stack([p, q], -1)[..., None])[..., 0]
    sol = np.where(ok[..., None], sol, 0.0)
    return sol[..., 0], sol[..., 1]


def _det_guard(a, b, c, p, q, min_eig):
    det = a * c - b * b
    ok = det > min_eig
    d = np.where(ok, det, 1.0)
    return np.where(ok, (b * q - c * p) / d, 0.0), np.where(ok, (b * p - a * q) / d, 0.0)


def _ge_guard(a, b, c, p, q, min_eig):
    lam = (a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b * b)
    ok = lam >= min_eig
    d = np.where(ok, a * c - b * b, 1.0)
    return np.where(ok, (b * q - c * p) / d, 0.0), np.where(ok, (b * p - a * q) / d, 0.0)


def _transposed_inverse(a, b, c, p, q, min_eig):
    u, v = solve_2x2(a, b, c, p, q, min_eig)
    lam = (a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b * b)
    d = np.where(lam > min_eig, a * c - b * b, 1.0)
    ok = lam > min_eig
    return np.where(ok, -(a * p - b * q) / d, 0.0), np.where(ok, -(c * q - b * p) / d, 0.0)


def _loop_means(z, window):
    r = window // 2
    padded = np.pad(z.astype(np.float64), r, mode="reflect")
    out = np.zeros(z.shape)
    for dy in range(window):
        for dx in range(window):
            out += padded[dy : dy + z.shape[0], dx : dx + z.shape[1]]
    return out / window**2


def structure_tensor(ix, iy, window):
    return _loop_means(ix * ix, window), _loop_means(ix * iy, window), _loop_means(iy * iy, window)


def image_gradients(prev, next):
    p = prev.astype(np.float64)
    ix, iy = np.zeros_like(p), np.zeros_like(p)
    ix[:, 1:-1] = (p[:, 2:] - p[:, :-2]) / 2
    iy[1:-1] = (p[2:] - p[:-2]) / 2
    return ix, iy, next.astype(np.float64) - p


def dense_lk(prev, next, window=9, min_eig=1e-5):
    ix, iy, it = image_gradients(prev, next)
    a, b, c = structure_tensor(ix, iy, window)
    u, v = solve_2x2(a, b, c, _loop_means(ix * it, window), _loop_means(iy * it, window), min_eig)
    return np.stack([u, v], -1)


def _box_dense(prev, next, window=9, min_eig=1e-5, grads=None, mean_pq=True):
    ix, iy, it = (grads or image_gradients)(prev, next)
    box = lambda z: cv2.blur(np.float32(z), (window, window))
    p, q = (box(ix * it), box(iy * it)) if mean_pq else (ix * it, iy * it)
    return np.stack(solve_2x2(box(ix * ix), box(ix * iy), box(iy * iy), p, q, min_eig), -1)


def pyramid(prev, next, levels=2, iterations=3, double=True, warp=True, sign=1.0):
    """Coarse to fine, warping; switches make the broken versions."""
    pyr = [(np.float32(prev), np.float32(next))]
    for _ in range(levels):
        pyr.append(tuple(cv2.pyrDown(x) for x in pyr[-1]))
    flow = None
    for p, n in reversed(pyr):
        h, w = p.shape
        flow = np.zeros((h, w, 2), np.float32) if flow is None else (2 if double else 1) * cv2.resize(flow, (w, h))
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        for _ in range(iterations):
            nw = n
            if warp:
                nw = cv2.remap(n, xs + sign * flow[..., 0], ys + sign * flow[..., 1], cv2.INTER_LINEAR)
            flow = flow + _box_dense(p, nw, 9, 1e-5).astype(np.float32)
    return flow


# ------------------------------------------------------------------ chapter 5
def bilinear_weight(channels, factor):
    k = 2 * factor
    centre = (k - 1) / 2
    taps = np.array([1 - abs(i - centre) / factor for i in range(k)])
    w = np.zeros((channels, channels, k, k))
    for c in range(channels):
        w[c, c] = np.outer(taps, taps)
    return torch.tensor(w, dtype=torch.float32)


def _taps_weight(taps_of):
    def weight(channels, factor):
        t = torch.as_tensor(taps_of(factor), dtype=torch.float32)
        w = torch.zeros(channels, channels, len(t), len(t))
        w[range(channels), range(channels)] = torch.outer(t, t)
        return w

    return weight


def receptive_field(layers):
    field, jump = 1, 1
    for k, s in layers:
        field, jump = field + (k - 1) * jump, jump * s
    return field


def _field_with(layers, jump_factor):
    field, jump = 1, 1
    for k, s in layers:
        field, jump = field + (k - 1) * jump, jump * jump_factor(k, s)
    return field


def _own_stride_field(layers):
    field, jump = 1, 1
    for k, s in layers:
        jump *= s
        field += (k - 1) * jump
    return field


class PaperFCN(nn.Module):
    """Right answer: conv 5, max-pool 2 (ceil), conv 3, 1x1 score, x2 transposed conv as linear
    interpolation, crop f/2 = 1, sigmoid; padding zeroed at every level. The wrong answers below change
    one of its steps."""

    crop = 1  # f // 2 for the x2 upsampling

    def __init__(self, d, hidden=16):
        super().__init__()
        self.c1, self.c2 = nn.Conv1d(d, hidden, 5, padding=2), nn.Conv1d(hidden, hidden, 3, padding=1)
        self.score = nn.Conv1d(hidden, 1, 1)
        self.up = nn.ConvTranspose1d(1, 1, 4, stride=2, bias=False)
        with torch.no_grad():
            self.up.weight.copy_(torch.tensor([[[0.25, 0.75, 0.75, 0.25]]]))

    def first_conv(self, x):
        return self.c1(x)

    def pool(self, x, m, n):
        pad = (0, n % 2)
        return F.max_pool1d(F.pad(x, pad), 2), F.max_pool1d(F.pad(m, pad), 2)

    def upsample(self, s, n):  # (B, 1, M) -> (B, N)
        return self.up(s)[:, 0, self.crop : self.crop + n]

    def activate(self, alpha, mask):
        return torch.sigmoid(alpha) * mask

    def forward(self, z, mask=None):
        b, n, _ = z.shape
        mask = torch.ones(b, n, dtype=torch.bool) if mask is None else mask
        m = mask[:, None].float()
        x = torch.relu(self.first_conv(z.transpose(1, 2) * m)) * m
        x, m2 = self.pool(x, m, n)
        x = torch.relu(self.c2(x)) * m2
        return self.activate(self.upsample(self.score(x) * m2, n), mask)


class FrameMLP(nn.Module):
    """The issue's example: a per-frame 1x1 MLP with a sigmoid and the mask: no temporal context."""

    def __init__(self, d):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, z, mask=None):
        s = torch.sigmoid(self.net(z))[..., 0]
        return s if mask is None else s * mask


class NoPooling(nn.Module):
    """Two temporal convolutions, no down- or upsampling: context, but not the paper's FCN."""

    def __init__(self, d):
        super().__init__()
        self.c1, self.c2 = nn.Conv1d(d, 16, 3, padding=1), nn.Conv1d(16, 1, 3, padding=1)

    def forward(self, z, mask=None):
        mask = torch.ones(z.shape[:2], dtype=torch.bool) if mask is None else mask
        m = mask[:, None].float()
        x = torch.relu(self.c1(z.transpose(1, 2) * m)) * m
        return torch.sigmoid(self.c2(x))[:, 0] * mask


class NearestUp(PaperFCN):
    """Upsamples by repeating each coarse score (nearest), not by interpolation."""

    def upsample(self, s, n):
        return s.repeat_interleave(2, -1)[:, 0, :n] + 0 * self.up.weight.sum()  # keeps every parameter in use


class MaskOnlyAtTheEnd(PaperFCN):
    def forward(self, z, mask=None):
        s = super().forward(z)
        return s if mask is None else s * mask


class GlobalContext(PaperFCN):
    """Adds the mean of the whole sequence: not convolutional along time."""

    def forward(self, z, mask=None):
        return super().forward(z + z.mean(1, keepdim=True), mask)


class CropAtZero(PaperFCN):
    """Keeps the first N values of the transposed convolution: the scores lag by f/2 frames."""

    crop = 0


class CropTooFar(PaperFCN):
    crop = 2


class CausalFirstConv(PaperFCN):
    """Pads the first conv on the left only: every score looks back, never ahead."""

    def first_conv(self, x):
        return F.conv1d(F.pad(x, (4, 0)), self.c1.weight, self.c1.bias)


class EvenWindow(PaperFCN):
    """A window of 4 with padding 2, cut back to N: half a frame off centre."""

    def __init__(self, d, hidden=16):
        super().__init__(d, hidden)
        self.c1 = nn.Conv1d(d, hidden, 4, padding=2)

    def first_conv(self, x):
        return self.c1(x)[..., : x.shape[-1]]


class SoftmaxOverFrames(PaperFCN):
    """Eq. 1b asks for a sigmoid; a softmax over the real frames of each video."""

    def activate(self, alpha, mask):
        return torch.softmax(alpha.masked_fill(~mask, -torch.inf), 1)


class HardSigmoid(PaperFCN):
    def activate(self, alpha, mask):
        return F.hardsigmoid(alpha) * mask


class Clamped(PaperFCN):
    def activate(self, alpha, mask):
        return (alpha + 0.5).clamp(0, 1) * mask


class NormalisedOverTheVideo(PaperFCN):
    """Standardises each video's features with its own mean and std: a statistic of the whole video."""

    def forward(self, z, mask=None):
        return super().forward((z - z.mean((1, 2), keepdim=True)) / z.std((1, 2), keepdim=True), mask)


class NotRemaskedAfterTheConv(PaperFCN):
    """Masks the input but not the first conv's output: its bias and the real neighbours leak into the
    padding, and from there into the pooled cell of an odd-length video's last frame."""

    def forward(self, z, mask=None):
        b, n, _ = z.shape
        mask = torch.ones(b, n, dtype=torch.bool) if mask is None else mask
        m = mask[:, None].float()
        x, m2 = self.pool(torch.relu(self.c1(z.transpose(1, 2) * m)), m, n)
        x = torch.relu(self.c2(x)) * m2
        return self.activate(self.upsample(self.score(x) * m2, n), mask)


class AvgPooled(PaperFCN):
    """Average instead of max pooling: not the paper's choice, but a working FCN (a right answer)."""

    def pool(self, x, m, n):
        pad = (0, n % 2)
        return F.avg_pool1d(F.pad(x, pad), 2), F.max_pool1d(F.pad(m, pad), 2)


# ------------------------------------------------------------------ chapter 6
def masked_mean(z, mask):
    out = []
    for b in range(z.shape[0]):
        out.append(z[b][mask[b]].mean(0))
    return torch.stack(out)


def attention_pool(z, lam, mask):
    return torch.einsum("bn,bnd->bd", torch.where(mask, lam, 0), z.masked_fill(~mask[..., None], 0))


def masked_softmax(a, mask):
    big = a.masked_fill(~mask, -torch.inf)
    e = torch.exp(big - big.max(1, keepdim=True).values)
    return e / e.sum(1, keepdim=True)


# ------------------------------------------------------------------ chapter 7
def hinge(d, same, margin=2.0):
    return torch.where(same, d**2 / 2, torch.relu(margin - d) ** 2 / 2)


def eq4(f1, f2, same, l1, l2, y1, y2, margin=2.0):
    d = torch.linalg.vector_norm(f1 - f2, dim=1)
    ce = lambda lg, y: (torch.logsumexp(lg, 1) - lg.gather(1, y[:, None])[:, 0]).mean()
    return ce(l1, y1) + hinge(d, same, margin).mean() + ce(l2, y2)


# ------------------------------------------------------------------ chapter 8
def lr_at(epoch, base, milestones, gamma):
    k = len([m for m in milestones if m <= epoch])
    return base * gamma**k


def save_ckpt(path, model, opt, epoch):
    torch.save({"m": model.state_dict(), "o": opt.state_dict(), "e": epoch}, path)


def load_ckpt(path, model, opt):
    s = torch.load(path)
    model.load_state_dict(s["m"])
    opt.load_state_dict(s["o"])
    return s["e"]


# ------------------------------------------------------------------ chapter 9
def _first_ranks(d, qp, gp, tie="against"):
    """1-based rank of each query's first right item: 1 + wrong items at distance <= (against), < (for)."""
    out = []
    for row, q in zip(d, qp, strict=True):
        wrong, nearest = row[gp != q], row[gp == q].min()
        out.append(1 + int(((wrong <= nearest) if tie == "against" else (wrong < nearest)).sum()))
    return np.array(out)


def cmc(d, qp, gp, k, tie="against"):
    first = _first_ranks(d, qp, gp, tie)
    return np.array([(first <= r).mean() for r in range(1, k + 1)])


def mean_ap(d, qp, gp, tie="against"):
    aps = []
    for row, q in zip(d, qp, strict=True):
        right, wrong = np.sort(row[gp == q]), row[gp != q]
        before = (wrong[None] <= right[:, None]) if tie == "against" else (wrong[None] < right[:, None])
        j = np.arange(1, len(right) + 1)
        aps.append(np.mean(j / (j + before.sum(1))))
    return float(np.mean(aps))


def _argsort_cmc(d, qp, gp, k, kind="stable"):
    first = (gp[np.argsort(d, 1, kind=kind)] == qp[:, None]).argmax(1) + 1
    return np.array([(first <= r).mean() for r in range(1, k + 1)])


def _argsort_ap(d, qp, gp):
    aps = []
    for row, q in zip(d, qp, strict=True):
        ranks = np.flatnonzero(gp[np.argsort(row, kind="stable")] == q) + 1
        aps.append(np.mean(np.arange(1, len(ranks) + 1) / ranks))
    return float(np.mean(aps))


def _micro_ap(d, qp, gp):
    precisions = []
    for row, q in zip(d, qp, strict=True):
        right, wrong = np.sort(row[gp == q]), row[gp != q]
        j = np.arange(1, len(right) + 1)
        precisions += list(j / (j + (wrong[None] <= right[:, None]).sum(1)))
    return float(np.mean(precisions))


def paired(a, b):
    d = np.subtract(a, b)
    return d.mean(), np.sqrt(((d - d.mean()) ** 2).sum() / (len(d) - 1) / len(d))


# ------------------------------------------------------------------ chapters 10-12
def least_trusted(s, k):
    return sorted(range(len(s)), key=lambda i: (s[i], i))[:k]


def pearson(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / math.sqrt((a * a).sum() * (b * b).sum()))


def _floor_fcn_macs(n, d=128, hidden=64, windows=(5, 3)):
    total, length, c = 0, n, d
    for w in windows:
        total += length * c * hidden * w
        length, c = length // 2, hidden
    return total + length * c


def fcn_macs(n, d=128, hidden=64, windows=(5, 3)):
    total, length, c = 0, n, d
    for w in windows:
        total += length * c * hidden * w
        length, c = math.ceil(length / 2), hidden
    return total + length * c


def lstm_macs(n, d=128, hidden=64):
    return n * (4 * hidden * (d + hidden) + hidden)


def frame_path(pid, camid, frame):
    cam = f"cam{camid + 1}"
    return str(Path("i-LIDS-VID", "sequences", cam, f"person{pid:03d}", f"{cam}_person{pid:03d}_{frame:05d}.png"))


def hours(epochs, persons, step, batch=1, splits=10):
    return splits * epochs * -(-2 * persons // batch) * step / 3600


RIGHT = {
    "check_rank_gallery": (rank_gallery,),
    "check_pairwise_distances": (pairwise,),
    "check_sort_frames": (sort_frames,),
    "check_split_persons": (split_persons,),
    "check_sample_window": (sample_window,),
    "check_lk_solve": (solve_2x2,),
    "check_structure_tensor": (structure_tensor,),
    "check_image_gradients": (image_gradients,),
    "check_dense_lk": (dense_lk,),
    "check_lk_pyramid": (lambda p, n: pyramid(p, n),),
    "check_output_size": (lambda n, k, stride=1, padding=0: math.floor((n + 2 * padding - k) / stride) + 1,),
    "check_conv_cost": (lambda i, o, k, h, w: (o * i * k * k + o, o * h * w * i * k * k),),
    "check_bilinear_weight": (bilinear_weight,),
    "check_receptive_field": (receptive_field,),
    "check_fcn_attention": (PaperFCN,),
    "check_masked_mean": (masked_mean,),
    "check_masked_attention_pool": (attention_pool,),
    "check_masked_softmax": (masked_softmax,),
    "check_squared_hinge": (hinge,),
    "check_siamese_loss": (eq4,),
    "check_lr_schedule": (lr_at,),
    "check_checkpoint": (save_ckpt, load_ckpt),
    "check_cmc": (cmc,),
    "check_mean_average_precision": (mean_ap,),
    "check_paired_difference": (paired,),
    "check_least_trusted": (least_trusted,),
    "check_pearson": (pearson,),
    "check_fcn_macs": (fcn_macs,),
    "check_lstm_macs": (lstm_macs,),
    "check_ilidsvid_path": (frame_path,),
    "check_training_hours": (hours,),
}


def _sobel(p, n):
    return cv2.Sobel(p, cv2.CV_64F, 1, 0, ksize=3), cv2.Sobel(p, cv2.CV_64F, 0, 1, ksize=3), n - p


def _save_model_object(path, model, opt, epoch):
    torch.save({"model": model, "opt": opt.state_dict(), "epoch": epoch}, path)


def _load_model_object(path, model, opt):
    s = torch.load(path, weights_only=False)
    model = s["model"]  # rebinds a local name: the caller's model keeps its old weights
    opt.load_state_dict(s["opt"])
    del model
    return s["epoch"]


def _load_optimizer_only(path, model, opt):
    s = torch.load(path)
    opt.load_state_dict(s["o"])
    return s["e"]


WRONG = {
    "check_rank_gallery": {
        "farthest first": lambda q, g: np.argsort(-np.linalg.norm(g - q, axis=1)),
        "L1 distance": lambda q, g: np.argsort(np.abs(g - q).sum(1)),
        "ranks instead of indices": lambda q, g: np.argsort(rank_gallery(q, g)),
        "cosine similarity": lambda q, g: np.argsort(-(g @ q) / np.linalg.norm(g, axis=1)),
        "nearest item dropped": lambda q, g: rank_gallery(q, g)[1:],
        "hard-coded hand case": lambda q, g: np.array([1, 2, 0]),
    },
    "check_pairwise_distances": {
        "squared distances": lambda a, b: pairwise(a, b) ** 2,
        "transposed (G, Q)": lambda a, b: pairwise(b, a),
        "element-wise a - b": lambda a, b: np.linalg.norm(a - b, axis=-1),
        "expansion with the wrong sign": lambda a, b: np.sqrt(
            (a**2).sum(1)[:, None] + (b**2).sum(1)[None] + 2 * a @ b.T
        ),
        "L1 distances": lambda a, b: np.abs(a[:, None] - b[None]).sum(-1),
        "expansion without a clamp (NaN for identical points)": lambda a, b: _expansion(a, b, clamp=False),
        "expansion in float32": lambda a, b: _expansion(np.float32(a), np.float32(b)),
        "torch.cdist in float32": lambda a, b: torch.cdist(torch.tensor(a).float(), torch.tensor(b).float()).numpy(),
        "mean instead of sum": lambda a, b: np.sqrt(((a[:, None] - b[None]) ** 2).mean(-1)),
        "a safe-gradient epsilon": lambda a, b: np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1) + 1e-8),
    },
    "check_sort_frames": {
        "as text": sorted,
        "first number": lambda names: sorted(names, key=lambda n: int(re.findall(r"\d+", n)[0])),
        "length, then text": lambda names: sorted(names, key=lambda n: (len(n), n)),
        "all digits joined": lambda names: sorted(names, key=lambda n: int("".join(re.findall(r"\d", n)))),
        "newest first": lambda names: sort_frames(names)[::-1],
    },
    "check_split_persons": {
        "splits tracklets": lambda pids, f, rng: (lambda o, c: ([pids[i] for i in o[:c]], [pids[i] for i in o[c:]]))(
            rng.permutation(len(pids)), round(f * len(pids))
        ),
        "not random": lambda pids, f, rng: (
            sorted(set(pids))[: round(f * len(set(pids)))],
            sorted(set(pids))[round(f * len(set(pids))) :],
        ),
        "floor instead of round": lambda pids, f, rng: (lambda p, c: (p[:c].tolist(), p[c:].tolist()))(
            rng.permutation(sorted(set(pids))), int(f * len(set(pids)))
        ),
        "train and test swapped": lambda pids, f, rng: split_persons(pids, f, rng)[::-1],
        "global random state": lambda pids, f, rng: split_persons(pids, f, np.random.default_rng()),
        "person 0 always in training": lambda pids, f, rng: (
            lambda rest, c: ([0] + rest[: c - 1].tolist(), rest[c - 1 :].tolist())
        )(rng.permutation(sorted(set(pids) - {0})), round(f * len(set(pids)))),
    },
    "check_sample_window": {
        "clipped start (the issue's example)": _window_from(lambda n, L, rng: min(int(rng.integers(0, n)), n - L)),
        "never the last start": _window_from(lambda n, L, rng: int(rng.integers(0, n - L))),
        "start 0 twice as likely": _window_from(lambda n, L, rng: max(int(rng.integers(-1, n - L + 1)), 0)),
        "cycles through the starts": _window_from(_cycling_start),
        "global random state": _window_from(lambda n, L, rng: int(np.random.randint(0, n - L + 1))),
        "short videos padded with zeros": lambda n, L, rng: (
            sample_window(n, L, rng) if n > L else np.r_[np.arange(n), np.zeros(L - n, int)]
        ),
        "short videos repeat the last frame": lambda n, L, rng: (
            sample_window(n, L, rng) if n > L else np.minimum(np.arange(L), n - 1)
        ),
    },
    "check_lk_solve": {
        "plus instead of minus": lambda *a: tuple(-x for x in solve_2x2(*a)),
        "no guard": lambda a, b, c, p, q, m: _det_guard(a, b, c, p, q, -np.inf),
        "guard on the determinant": _det_guard,
        "guard with >= (0 must stay 0 at the threshold)": _ge_guard,
        "transposed inverse": _transposed_inverse,
        "u and v swapped": lambda *a: solve_2x2(*a)[::-1],
    },
    "check_structure_tensor": {
        "window sums": lambda ix, iy, w: tuple(x * w * w for x in structure_tensor(ix, iy, w)),
        "no window": lambda ix, iy, w: (ix * ix, ix * iy, iy * iy),
        "Gaussian weights": lambda ix, iy, w: tuple(
            cv2.GaussianBlur(z, (w, w), 0) for z in (ix * ix, ix * iy, iy * iy)
        ),
        "product of the means": lambda ix, iy, w: (
            structure_tensor(ix, iy, w)[0],
            _loop_means(ix, w) * _loop_means(iy, w),
            structure_tensor(ix, iy, w)[2],
        ),
        "window one pixel too small": lambda ix, iy, w: structure_tensor(ix, iy, w - 2),
        "a and c swapped": lambda ix, iy, w: structure_tensor(ix, iy, w)[::-1],
    },
    "check_image_gradients": {
        "x and y swapped": lambda p, n: image_gradients(p, n)[1::-1] + (n - p,),
        "Sobel without 1/8": _sobel,
        "prev - next": lambda p, n: image_gradients(p, n)[:2] + (p - n,),
        "forward differences": lambda p, n: (
            np.diff(p, axis=1, append=p[:, -1:]),
            np.diff(p, axis=0, append=p[-1:]),
            n - p,
        ),
        "gradients of next": lambda p, n: image_gradients(n, n)[:2] + (n - p,),
        "gradient twice too small": lambda p, n: tuple(x / 2 for x in image_gradients(p, n)[:2]) + (n - p,),
    },
    "check_dense_lk": {
        "opposite direction": lambda p, n, w, m: -dense_lk(p, n, w, m),
        "(v, u)": lambda p, n, w, m: dense_lk(p, n, w, m)[..., ::-1],
        "no guard": lambda p, n, w, m: _box_dense(p, n, w, -1.0),
        "Sobel without 1/8": lambda p, n, w, m: _box_dense(p, n, w, m, grads=_sobel),
        "products not averaged": lambda p, n, w, m: _box_dense(p, n, w, m, mean_pq=False),
        "ignores the window argument": lambda p, n, w, m: _box_dense(p, n, 3, m),
        "offset by 0.3 px": lambda p, n, w, m: dense_lk(p, n, w, m) + 0.3,
    },
    "check_lk_pyramid": {
        "one step, no pyramid": lambda p, n: _box_dense(p, n),
        "forgets to double the flow": lambda p, n: pyramid(p, n, double=False),
        "no warping": lambda p, n: pyramid(p, n, warp=False),
        "warps the wrong way": lambda p, n: pyramid(p, n, sign=-1.0),
        "one iteration per level": lambda p, n: pyramid(p, n, iterations=1),
        "one level only": lambda p, n: pyramid(p, n, levels=1),
    },
    "check_output_size": {
        "padding on one side": lambda n, k, stride=1, padding=0: (n + padding - k) // stride + 1,
        "no + 1": lambda n, k, stride=1, padding=0: (n + 2 * padding - k) // stride,
        "rounds up": lambda n, k, stride=1, padding=0: -(-(n + 2 * padding - k) // stride) + 1,
        "+ 1 inside the division": lambda n, k, stride=1, padding=0: (n + 2 * padding - k + 1) // stride,
        "float division": lambda n, k, stride=1, padding=0: (n + 2 * padding - k) / stride + 1,
    },
    "check_conv_cost": {
        "no bias": lambda i, o, k, h, w: (o * i * k * k, h * w * o * i * k * k),
        "macs without the input channels": lambda i, o, k, h, w: (o * (i * k * k + 1), h * w * o * k * k),
        "macs count the bias": lambda i, o, k, h, w: (o * (i * k * k + 1), h * w * o * (i * k * k + 1)),
        "kernel not squared": lambda i, o, k, h, w: (o * (i * k + 1), h * w * o * i * k),
        "swapped": lambda i, o, k, h, w: (h * w * o * i * k * k, o * (i * k * k + 1)),
    },
    "check_bilinear_weight": {
        "every channel to every channel": lambda c, f: bilinear_weight(1, f).expand(c, c, 2 * f, 2 * f),
        "centred on a tap": _taps_weight(lambda f: (1 - (torch.arange(2 * f) - f).abs() / f).clamp_min(0)),
        "slope fixed at 1/2": _taps_weight(lambda f: (1 - (torch.arange(2 * f) - (f - 0.5)).abs() / 2).clamp_min(0)),
        "taps that sum to 1": _taps_weight(lambda f: (1 - (torch.arange(2 * f) - (f - 0.5)).abs() / f) / f),
        "nearest (all ones)": _taps_weight(lambda f: torch.ones(2 * f)),
        "tent along one axis only": lambda c, f: (
            bilinear_weight(c, f) / bilinear_weight(1, f)[0, 0, :, :1].clamp_min(1e-9)
        ),
        "slope 2/f (half as wide)": _taps_weight(
            lambda f: (1 - 2 * (torch.arange(2 * f) - (f - 0.5)).abs() / f).clamp_min(0)
        ),
        "kernel f instead of 2f": _taps_weight(lambda f: 1 - (torch.arange(f) - (f - 1) / 2).abs() / f),
        "box of 1/f": _taps_weight(lambda f: torch.full((2 * f,), 1 / f)),
    },
    "check_receptive_field": {
        "ignores the strides": lambda layers: 1 + sum(k - 1 for k, _ in layers),
        "counts its own stride": _own_stride_field,
        "sum of the kernels": lambda layers: sum(k for k, _ in layers),
        "product of the kernels": lambda layers: math.prod(k for k, _ in layers),
        "starts from 0": lambda layers: receptive_field(layers) - 1,
        "jump multiplied by the kernel": lambda layers: _field_with(layers, lambda k, s: k),
        "pooling layers skipped": lambda layers: receptive_field([(k, s) for k, s in layers if s == 1]),
        "every layer times the total stride": lambda layers: (
            1 + sum(k - 1 for k, _ in layers) * math.prod(s for _, s in layers)
        ),
    },
    "check_fcn_attention": {
        "per-frame MLP (the issue's example)": FrameMLP,
        "no pooling or upsampling": NoPooling,
        "nearest upsampling": NearestUp,
        "mask only at the end": MaskOnlyAtTheEnd,
        "sequence mean added": GlobalContext,
        "crop at 0 (scores lag by f/2)": CropAtZero,
        "crop at f (scores lead by f/2)": CropTooFar,
        "causal padding (left only)": CausalFirstConv,
        "even window, cut back to N": EvenWindow,
        "softmax over the frames, not Eq. 1b": SoftmaxOverFrames,
        "hard sigmoid": HardSigmoid,
        "clamp to [0, 1]": Clamped,
        "features standardised per video": NormalisedOverTheVideo,
        "first conv not re-masked": NotRemaskedAfterTheConv,
    },
    "check_masked_mean": {
        "divides by N": lambda z, m: (z * m[..., None]).sum(1) / z.shape[1],
        "no mask": lambda z, m: z.mean(1),
        "count of the whole batch": lambda z, m: (z * m[..., None]).sum(1) / m.sum() * m.shape[0],
        "mean over the features": lambda z, m: (z * m[..., None]).mean(2),
        "multiplied by the mask (NaN * 0 = NaN)": lambda z, m: (z * m[..., None]).sum(1) / m.sum(1, keepdim=True),
        "count minus one": lambda z, m: (
            torch.where(m[..., None], z, 0).sum(1) / (m.sum(1, keepdim=True) - 1).clamp_min(1)
        ),
        "count along the batch axis": lambda z, m: torch.where(m[..., None], z, 0).sum(1) / m.sum(0)[: len(m), None],
        "nansum over the padded length": lambda z, m: torch.nansum(z * m[..., None], 1) / z.shape[1],
    },
    "check_masked_attention_pool": {
        "normalised by the scores": lambda z, s, m: attention_pool(z, s, m) / (s * m).sum(1, keepdim=True),
        "no mask": lambda z, s, m: (s[..., None] * z).sum(1),
        "mean instead of sum": lambda z, s, m: attention_pool(z, s, m) / m.sum(1, keepdim=True),
        "softmax of the scores": lambda z, s, m: attention_pool(z, masked_softmax(s, m), m),
        "scores zeroed by multiplying": lambda z, s, m: ((s * m)[..., None] * z).sum(1),
        "features zeroed by multiplying": lambda z, s, m: (torch.where(m, s, 0)[..., None] * (z * m[..., None])).sum(1),
        "sigmoid applied again": lambda z, s, m: attention_pool(z, torch.sigmoid(s), m),
        "scores squared": lambda z, s, m: attention_pool(z, s * s, m),
    },
    "check_masked_softmax": {
        "softmax, then mask": lambda a, m: torch.softmax(a, 1) * m,
        "renormalised after masking": lambda a, m: F.normalize(torch.softmax(a, 1) * m, p=1, dim=1),
        "padding filled with 0": lambda a, m: torch.softmax(a.masked_fill(~m, 0.0), 1),
        "naive exp": lambda a, m: torch.exp(a) * m / (torch.exp(a) * m).sum(1, keepdim=True),
        "over the batch axis": lambda a, m: torch.softmax(a.masked_fill(~m, -torch.inf), 0).nan_to_num(),
        "temperature 2": lambda a, m: masked_softmax(a / 2, m),
        "log-softmax": lambda a, m: torch.log_softmax(a.masked_fill(~m, -torch.inf), 1).masked_fill(~m, 0),
        "sigmoid, renormalised": lambda a, m: F.normalize(torch.sigmoid(a).masked_fill(~m, 0), p=1, dim=1),
        "NaN padding not masked": lambda a, m: torch.softmax(torch.where(m, a, a - 1e4), 1),
    },
    "check_squared_hinge": {
        "no 1/2": lambda d, s, m: 2 * hinge(d, s, m),
        "same and different swapped": lambda d, s, m: hinge(d, ~s, m),
        "hinge not squared": lambda d, s, m: torch.where(s, d**2 / 2, torch.relu(m - d) / 2),
        "d - m": lambda d, s, m: torch.where(s, d**2 / 2, torch.relu(d - m) ** 2 / 2),
        "margin ignored": lambda d, s, m: hinge(d, s, 2.0),
        "m - d^2": lambda d, s, m: torch.where(s, d**2 / 2, torch.relu(m - d**2) ** 2 / 2),
        "averaged": lambda d, s, m: hinge(d, s, m).mean(),
        "cut from the graph": lambda d, s, m: torch.tensor(hinge(d, s, m).tolist()),
        "no clamp at 0": lambda d, s, m: torch.where(s, d**2 / 2, (m - d) ** 2 / 2),
        "pull not squared": lambda d, s, m: torch.where(s, d / 2, torch.relu(m - d) ** 2 / 2),
        "squared distances in": lambda d, s, m: hinge(d**2, s, m),
        "1/2 on the pull only": lambda d, s, m: torch.where(s, d**2 / 2, torch.relu(m - d) ** 2),
        "summed": lambda d, s, m: hinge(d, s, m).sum(),
    },
    "check_siamese_loss": {
        "no hinge": lambda f1, f2, s, l1, l2, y1, y2, m: F.cross_entropy(l1, y1) + F.cross_entropy(l2, y2),
        "hinge summed": lambda f1, f2, s, l1, l2, y1, y2, m: (
            F.cross_entropy(l1, y1) + hinge((f1 - f2).norm(dim=1), s, m).sum() + F.cross_entropy(l2, y2)
        ),
        "squared distance": lambda f1, f2, s, l1, l2, y1, y2, m: (
            F.cross_entropy(l1, y1) + hinge((f1 - f2).pow(2).sum(1), s, m).mean() + F.cross_entropy(l2, y2)
        ),
        "labels of the other branch": lambda f1, f2, s, l1, l2, y1, y2, m: eq4(f1, f2, s, l1, l2, y2, y1, m),
        "one branch twice": lambda f1, f2, s, l1, l2, y1, y2, m: eq4(f1, f2, s, l1, l1, y1, y1, m),
        "margin ignored": lambda f1, f2, s, l1, l2, y1, y2, m: eq4(f1, f2, s, l1, l2, y1, y2),
        "mean of the three terms": lambda f1, f2, s, l1, l2, y1, y2, m: eq4(f1, f2, s, l1, l2, y1, y2, m) / 3,
        "features L2-normalised inside": lambda f1, f2, s, l1, l2, y1, y2, m: eq4(
            F.normalize(f1, dim=1), F.normalize(f2, dim=1), s, l1, l2, y1, y2, m
        ),
        "cross-entropy summed over pairs": lambda f1, f2, s, l1, l2, y1, y2, m: (
            F.cross_entropy(l1, y1, reduction="sum")
            + hinge((f1 - f2).norm(dim=1), s, m).mean()
            + F.cross_entropy(l2, y2, reduction="sum")
        ),
        "cosine distance": lambda f1, f2, s, l1, l2, y1, y2, m: (
            F.cross_entropy(l1, y1) + hinge(1 - F.cosine_similarity(f1, f2), s, m).mean() + F.cross_entropy(l2, y2)
        ),
    },
    "check_lr_schedule": {
        "epoch > m": lambda e, b, ms, g: b * g ** sum(e > m for m in ms),
        "constant": lambda e, b, ms, g: b,
        "one drop at most": lambda e, b, ms, g: b * (g if any(e >= m for m in ms) else 1),
        "step every first milestone": lambda e, b, ms, g: b * g ** (e // ms[0]),
        "gamma added": lambda e, b, ms, g: b - g * b * sum(e >= m for m in ms),
    },
    "check_checkpoint": {
        "weights only": (
            lambda path, model, opt, e: torch.save({"m": model.state_dict(), "e": e}, path),
            lambda path, model, opt: (lambda s: model.load_state_dict(s["m"]) and s["e"])(torch.load(path)),
        ),
        "optimizer only": (save_ckpt, _load_optimizer_only),
        "model object rebound": (_save_model_object, _load_model_object),
        "returns the next epoch": (save_ckpt, lambda path, model, opt: load_ckpt(path, model, opt) + 1),
        "writes nothing": (lambda *a: None, load_ckpt),
    },
    "check_cmc": {
        "percentages": lambda d, q, g, k: 100 * cmc(d, q, g, k),
        "largest distance first": lambda d, q, g, k: cmc(-d, q, g, k),
        "shifted by one rank": lambda d, q, g, k: np.r_[0.0, cmc(d, q, g, k)[:-1]],
        "share of right items at rank k": lambda d, q, g, k: (g[np.argsort(d, 1)] == q[:, None])[:, :k].mean(0),
        "recall of all right items": lambda d, q, g, k: (
            (np.cumsum(g[np.argsort(d, 1)] == q[:, None], 1) / (g[None] == q[:, None]).sum(1, keepdims=True))[:, :k]
        ).mean(0),
        "one value short": lambda d, q, g, k: cmc(d, q, g, k)[:-1],
        "ties by gallery order (np.argsort)": _argsort_cmc,
        "ties by an unstable sort": lambda d, q, g, k: _argsort_cmc(d, q, g, k, kind="quicksort"),
        "ties counted for the model": lambda d, q, g, k: cmc(d, q, g, k, tie="for"),
        "ties with other right items counted": lambda d, q, g, k: (
            lambda first: np.array([(first <= r).mean() for r in range(1, k + 1)])
        )(np.array([(row <= row[g == p].min()).sum() for row, p in zip(d, q, strict=True)])),
    },
    "check_mean_average_precision": {
        "percentage": lambda d, q, g: 100 * mean_ap(d, q, g),
        "largest distance first": lambda d, q, g: mean_ap(-d, q, g),
        "mean reciprocal rank": lambda d, q, g: float(
            np.mean(1 / (np.argmax(g[np.argsort(d, 1)] == q[:, None], 1) + 1))
        ),
        "pooled over all right items": _micro_ap,
        "precision averaged over every rank": lambda d, q, g: float(
            np.mean(np.cumsum(g[np.argsort(d, 1)] == q[:, None], 1) / np.arange(1, len(g) + 1))
        ),
        "one AP per query": lambda d, q, g: np.array([mean_ap(d[i : i + 1], q[i : i + 1], g) for i in range(len(q))]),
        "ties by gallery order (np.argsort)": _argsort_ap,
        "ties counted for the model": lambda d, q, g: mean_ap(d, q, g, tie="for"),
        "ties with other right items counted": lambda d, q, g: float(
            np.mean(
                [
                    np.mean(np.arange(1, (g == p).sum() + 1) / (row[None] <= np.sort(row[g == p])[:, None]).sum(1))
                    for row, p in zip(d, q, strict=True)
                ]
            )
        ),
    },
    "check_paired_difference": {
        "b - a": lambda a, b: (np.mean(b - a), paired(a, b)[1]),
        "unpaired error": lambda a, b: (np.mean(a - b), np.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / len(a))),
        "ddof 0": lambda a, b: (np.mean(a - b), np.std(a - b) / np.sqrt(len(a))),
        "no sqrt(S)": lambda a, b: (np.mean(a - b), np.std(a - b, ddof=1)),
        "absolute differences": lambda a, b: paired(np.abs(a - b), 0 * a),
        "sqrt(S - 1)": lambda a, b: (np.mean(a - b), np.std(a - b, ddof=1) / np.sqrt(len(a) - 1)),
        "95% half-width instead of the SE": lambda a, b: (np.mean(a - b), 1.96 * paired(a, b)[1]),
        "variance, not standard error": lambda a, b: (np.mean(a - b), np.var(a - b, ddof=1) / len(a)),
        "median difference": lambda a, b: (np.median(a - b), paired(a, b)[1]),
        "difference of the medians": lambda a, b: (np.median(a) - np.median(b), paired(a, b)[1]),
    },
    "check_least_trusted": {
        "most trusted": lambda s, k: np.argsort(-s, kind="stable")[:k],
        "highest first": lambda s, k: np.argsort(s, kind="stable")[:k][::-1],
        "unordered (argpartition)": lambda s, k: np.sort(np.argpartition(s, k - 1)[:k]),
        "ties to the later frame": lambda s, k: (len(s) - 1 - np.argsort(s[::-1], kind="stable"))[:k],
        "scores instead of indices": lambda s, k: np.sort(s)[:k],
        "every index": lambda s, k: np.argsort(s, kind="stable"),
    },
    "check_pearson": {
        "cosine similarity": lambda a, b: a @ b / np.sqrt((a @ a) * (b @ b)),
        "covariance": lambda a, b: float(np.cov(a, b)[0, 1]),
        "mixed ddof": lambda a, b: float(np.cov(a, b)[0, 1] / (a.std() * b.std())),
        "Spearman": lambda a, b: float(stats.spearmanr(a, b)[0]),
        "r squared": lambda a, b: float(np.corrcoef(a, b)[0, 1] ** 2),
    },
    "check_fcn_macs": {
        "floor halving": _floor_fcn_macs,
        "no score conv": lambda n, d=128, h=64, w=(5, 3): fcn_macs(n, d, h, w) - math.ceil(n / 2 ** len(w)) * h,
        "d channels throughout": lambda n, d=128, h=64, w=(5, 3): (
            sum(math.ceil(n / 2**i) * d * h * k for i, k in enumerate(w)) + math.ceil(n / 2 ** len(w)) * h
        ),
        "no halving": lambda n, d=128, h=64, w=(5, 3): n * d * h * w[0] + sum(n * h * h * k for k in w[1:]) + n * h,
        "pooling before the first conv": lambda n, d=128, h=64, w=(5, 3): fcn_macs(math.ceil(n / 2), d, h, w),
    },
    "check_lstm_macs": {
        "no score layer": lambda n, d, h: n * 4 * h * (d + h),
        "one gate": lambda n, d, h: n * (h * (d + h) + h),
        "no recurrent input": lambda n, d, h: n * (4 * h * d + h),
        "score once": lambda n, d, h: n * 4 * h * (d + h) + h,
        "three gates (a GRU)": lambda n, d, h: n * (3 * h * (d + h) + h),
    },
    "check_ilidsvid_path": {
        "cameras from 0": lambda p, c, f: f"i-LIDS-VID/sequences/cam{c}/person{p:03d}/cam{c}_person{p:03d}_{f:05d}.png",
        "unpadded person": lambda p, c, f: frame_path(p, c, f).replace(f"person{p:03d}", f"person{p}"),
        "4-digit frame": lambda p, c, f: frame_path(p, c, 0).replace("_00000.png", f"_{f:04d}.png"),
        "absolute path": lambda p, c, f: "/" + frame_path(p, c, f),
        "no camera in the file name": lambda p, c, f: frame_path(p, c, f).replace(f"/cam{c + 1}_person", "/person"),
    },
    "check_training_hours": {
        "one pair per person": lambda e, p, s, b=1, n=10: n * e * math.ceil(p / b) * s / 3600,
        "no ceil": lambda e, p, s, b=1, n=10: n * e * 2 * p / b * s / 3600,
        "floor": lambda e, p, s, b=1, n=10: n * e * (2 * p // b) * s / 3600,
        "ceil per positive/negative": lambda e, p, s, b=1, n=10: n * e * 2 * math.ceil(p / b) * s / 3600,
        "seconds": lambda e, p, s, b=1, n=10: n * e * math.ceil(2 * p / b) * s,
        "splits ignored": lambda e, p, s, b=1, n=10: e * math.ceil(2 * p / b) * s / 3600,
    },
}

# chapter 13's tables live beside its own tests
RIGHT.update(RIGHT_CH13)
WRONG.update(WRONG_CH13)
RIGHT.update(RIGHT_CH11)  # chapter 11's statistics exercise, beside its own tables too
WRONG.update(WRONG_CH11)

CHECKS = sorted(name for name in ex.__all__ if name.startswith("check_"))
CASES = [(check, label) for check in CHECKS for label in WRONG.get(check, {})]


def test_every_check_has_a_right_answer_and_three_wrong_ones():
    assert len(CHECKS) == 35
    assert sorted(RIGHT) == CHECKS
    thin = {c: len(WRONG.get(c, {})) for c in CHECKS if len(WRONG.get(c, {})) < 3}
    assert not thin, f"checks with fewer than three wrong answers: {thin}"


@pytest.mark.parametrize("check", CHECKS)
def test_right_answer_passes(check, capsys):
    assert getattr(ex, check)(*RIGHT[check]) is True
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("check, label", CASES, ids=[f"{c}-{w}" for c, w in CASES])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # unguarded solves divide by zero on purpose
def test_wrong_answer_fails(check, label):
    wrong = WRONG[check][label]
    args = wrong if isinstance(wrong, tuple) else (wrong,)
    with pytest.raises(CheckFailed):
        getattr(ex, check)(*args)


def test_all_checks_together_are_fast(capsys):
    """The 34 checks on their right answers, one after the other: under a minute on the 2-core CI."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    times = {}
    for check in CHECKS:
        t = time.perf_counter()
        getattr(ex, check)(*RIGHT[check])
        times[check] = time.perf_counter() - t
    total = time.perf_counter() - start
    capsys.readouterr()
    slowest = sorted(times.items(), key=lambda kv: -kv[1])[:3]
    print(f"34 checks in {total:.1f} s; slowest: " + ", ".join(f"{k} {v:.1f} s" for k, v in slowest))
    assert total < 60, f"the checks took {total:.1f} s together: {slowest}"


def test_wrong_answer_counts_are_reported():
    """The table of wrong answers per check (printed with -s), so the closing report can quote it."""
    counts = {c: len(WRONG[c]) for c in CHECKS}
    assert sum(counts.values()) >= 3 * 34
    print("\n".join(f"{c}: {n}" for c, n in counts.items()))
