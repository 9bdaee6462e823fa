"""Training a temporal head on frozen frame features, with the paper's losses, until its loss stops improving
(chapter 11).

What trains: a per-frame linear adapter D -> D (started as the identity, so every head starts from the
backbone's own features), the head, and the identity classifier. Every head, mean pooling and the
oracle included, therefore has something to learn. Batches are the paper's Siamese pairs (one
positive and one negative pair per training person and epoch, windows of 16 frames), the loss is
Eq. 4 (identity + squared hinge with margin 2 + identity), the optimiser Adam.

The stopping rule (:class:`StopRule`) was fixed from training-loss curves of the quick lab, before
any test result of the lab was seen, and is recorded with every run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...losses import siamese_loss
from ...models import IDENTITY_INPUTS, identity_input, make_head
from ...training import PairSampler
from .features import LabFeatures


@dataclass(frozen=True)
class StopRule:
    """Stop when the epoch's mean training loss has not beaten the best so far by ``min_delta`` (relative)
    for ``patience`` epochs; the first ``decays`` such plateaus divide the learning rate by 10 instead.
    ``max_epochs`` caps a run that never settles (recorded as stopped by the cap)."""

    patience: int = 10
    min_delta: float = 0.01
    decays: int = 1
    max_epochs: int = 300


@dataclass(frozen=True)
class LabConfig:
    """Everything that decides a lab run besides the head, the data and the split.

    ``identity``: what the classifier reads (:data:`reidlib.models.IDENTITY_INPUTS`): "raw" (the paper's
    protocol) or "unit" (the same kind of feature for every head). ``margin``, ``id_weight``: Eq. 4's.
    """

    batch_size: int = 16
    lr: float = 1e-3
    window: int = 16
    margin: float = 2.0
    id_weight: float = 1.0
    identity: str = "raw"
    seed: int = 0
    rule: StopRule = field(default_factory=StopRule)

    def __post_init__(self):
        if self.identity not in IDENTITY_INPUTS:
            raise ValueError(f"identity must be one of {IDENTITY_INPUTS}; found {self.identity!r}.")

    def to_dict(self) -> dict:
        return asdict(self)


class LabNet(nn.Module):
    """Frozen frame features (B, N, D) -> adapter -> head -> video feature; an identity classifier.

    ``head`` and ``head_kw`` as :func:`reidlib.models.make_head`; ``identity`` as :class:`LabConfig`.
    ``quality``: the head's scorer reads the backbone's earlier features, the flattened conv stages
    (B, N, 2560), through a linear layer and tanh to D values, instead of the frame features it pools:
    a quality branch (chapter 11), for heads with a scorer.
    """

    def __init__(
        self,
        num_classes: int,
        head: str,
        feature_dim: int = 128,
        identity: str = "raw",
        quality: bool = False,
        conv_dim: int = 2560,
        **head_kw,
    ):
        super().__init__()
        self.adapter = nn.Linear(feature_dim, feature_dim)
        with torch.no_grad():
            self.adapter.weight.copy_(torch.eye(feature_dim))
            self.adapter.bias.zero_()
        self.head = make_head(head, feature_dim, **head_kw)
        self.classifier = nn.Linear(feature_dim, num_classes)
        self.identity = identity
        self.quality = nn.Sequential(nn.Linear(conv_dim, feature_dim), nn.Tanh()) if quality else None
        if quality and not hasattr(self.head, "scorer"):
            raise ValueError(f"a quality branch feeds a head's scorer; head {head!r} has none.")

    @property
    def needs_visibility(self) -> bool:
        return getattr(self.head, "needs_visibility", False)

    def scores(self, conv: torch.Tensor) -> torch.Tensor:
        """The quality branch's weights (B, N) from conv features (B, N, 2560)."""
        return self.head.scorer(self.quality(conv.float()))

    def encode(self, z: torch.Tensor, visibility: torch.Tensor | None = None, conv: torch.Tensor | None = None):
        """z (B, N, D) [, conv (B, N, 2560) for a quality branch] -> (features for the distance (B, D), what the
        classifier reads (B, D), scores (B, N) or None)."""
        z = self.adapter(z)
        extra = (visibility,) if self.needs_visibility else ()
        if self.quality is not None:
            scores = self.scores(conv)
            raw = self.head.weigh(z, scores)
        elif hasattr(self.head, "raw"):
            raw, scores = self.head.raw(z, None, *extra)
        else:  # heads without a normalisation option (RCN)
            raw, scores = self.head(z, None)
        f = F.normalize(raw, dim=1) if getattr(self.head, "l2_normalize", False) else raw
        return f, identity_input(raw, self.identity), scores


class Plateau:
    """The state of a :class:`StopRule` -> after each epoch: "go", "decay" or "stop"."""

    def __init__(self, rule: StopRule):
        self.rule, self.best, self.wait, self.decays = rule, float("inf"), 0, rule.decays

    def __call__(self, epoch: int, loss: float) -> str:
        if loss < self.best * (1 - self.rule.min_delta):
            self.best, self.wait = loss, 0
        else:
            self.wait += 1
        if self.wait >= self.rule.patience:
            if self.decays:
                self.decays, self.wait = self.decays - 1, 0
                return "decay"
            return "stop"
        return "stop" if epoch + 1 >= self.rule.max_epochs else "go"


def train_head(
    feats: LabFeatures,
    split: int,
    head: str,
    config: LabConfig | None = None,
    smooth: float = 0.0,
    quality: bool = False,
    **head_kw,
) -> tuple[LabNet, dict]:
    """Train ``head`` on split ``split``'s training persons of ``feats`` -> (the net in eval mode, history).

    ``smooth`` adds smooth x the mean squared change of the weights between neighbouring frames to the
    loss (a prior that quality changes slowly in time); ``quality`` gives the head a quality branch
    (:class:`LabNet`). Both are explorations of chapter 11; the ablation's heads use neither.

    The history holds the per-epoch mean loss (``loss``), the epochs where the learning rate fell
    (``decays``), why training stopped (``stopped``: "plateau" or "cap") and the rule.
    """
    config = config or LabConfig()
    train, _, _ = feats.split(split)
    sampler = PairSampler(train, seed=config.seed, window=config.window)
    torch.manual_seed(config.seed * 1000 + split)  # every head of a split starts from the same draw
    net = LabNet(len(sampler.pids), head, feats.z.shape[1], config.identity, quality, feats.conv.shape[1], **head_kw)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    plateau, history = Plateau(config.rule), {"loss": [], "decays": [], "rule": asdict(config.rule)}
    net.train()
    for epoch in range(config.rule.max_epochs):
        pairs = sampler.epoch(epoch)
        total = torch.zeros((), dtype=torch.float64)
        for s in range(0, len(pairs), config.batch_size):
            batch = pairs[s : s + config.batch_size]
            loss = batch_loss(net, feats, batch, config, smooth)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach().double() * len(batch)
        history["loss"].append(round(float(total) / len(pairs), 5))
        state = plateau(epoch, history["loss"][-1])
        if state == "decay":
            history["decays"].append(epoch)
            for g in opt.param_groups:
                g["lr"] /= 10
        elif state == "stop":
            history["stopped"] = "plateau" if plateau.wait >= config.rule.patience else "cap"
            break
    net.eval()
    return net, history


def batch_loss(net: LabNet, feats: LabFeatures, batch: list, config: LabConfig, smooth: float = 0.0) -> torch.Tensor:
    """Eq. 4 on a batch of B pairs (+ the smoothness term): branch 1 is rows [0, B), branch 2 rows [B, 2B)."""
    rows = torch.from_numpy(
        np.stack([p.first.start + p.idx1 for p in batch] + [p.second.start + p.idx2 for p in batch])
    )  # (2B, window) rows of the cache
    z = feats.z[rows]  # (2B, window, D)
    vis = torch.from_numpy(feats.visibility[rows.numpy()]) if net.needs_visibility else None
    conv = feats.conv_rows[rows] if net.quality is not None else None
    f, ident, scores = net.encode(z, vis, conv)
    logits = net.classifier(ident)
    b = len(batch)
    same = torch.tensor([p.same for p in batch])
    labels = torch.tensor([p.label1 for p in batch] + [p.label2 for p in batch])
    loss, _ = siamese_loss(
        f[:b], f[b:], same, logits[:b], logits[b:], labels[:b], labels[b:], config.margin, True, config.id_weight
    )
    if smooth:
        loss = loss + smooth * (scores[:, 1:] - scores[:, :-1]).pow(2).mean()
    return loss
