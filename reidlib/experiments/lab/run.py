"""One lab run: train a head of the ablation on one split's frozen features, test it, ablate its lambda (chapter 11)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch

from ...evaluation import METRICS, attention_visibility, lambda_ablation
from .. import ablation
from .features import LabFeatures
from .train import LabConfig, LabNet, train_head


@dataclass(frozen=True)
class Exploration:
    """A lab-only variant of a method of the ablation (chapter 11: when does attention learn quality?)."""

    label: str
    base: str  # a method of ablation.METHODS
    smooth: float = 0.0  # weight of the smoothness term (train_head)
    quality: bool = False  # a quality branch on the conv features (LabNet)
    max_epochs: int | None = None  # a fixed budget instead of the stopping rule


EXPLORE = {
    **{
        f"{base}_quality": Exploration(f"{ablation.METHODS[base].label}, quality branch", base, quality=True)
        for base in ("paper", "sigmoid_mean")
    },
    **{
        f"{base}_smooth": Exploration(f"{ablation.METHODS[base].label}, smooth weights", base, smooth=1.0)
        for base in ("paper", "sigmoid_mean")
    },
    **{
        f"{base}_{n}ep": Exploration(f"{ablation.METHODS[base].label}, {n} epochs", base, max_epochs=n)
        for base in ("mean", "oracle", "mean_l2", "oracle_l2", "paper", "sigmoid_mean")
        for n in (5, 20)
    },
}
# What the lab trains: every method of ablation.METHODS that reads the backbone's five input channels (the
# no-flow rows need another backbone; what the identity classifier reads is the lab protocol's choice,
# LabConfig.identity, so the end-to-end "unit" rows are left out), then the explorations.
METHODS = tuple(name for name, m in ablation.METHODS.items() if m.use_flow and m.model.identity == "raw")
ALL = METHODS + tuple(EXPLORE)


def label(method: str) -> str:
    """A method's label in tables."""
    return EXPLORE[method].label if method in EXPLORE else ablation.METHODS[method].label


def exploration(method: str) -> Exploration:
    """A method of the lab as an exploration (a method of the ablation is one with no change)."""
    if method not in ALL:
        raise ValueError(f"the lab trains the methods {list(ALL)}; found {method!r}.")
    return EXPLORE.get(method) or Exploration(ablation.METHODS[method].label, method)


def lab_config(method: str, base: LabConfig | None = None) -> LabConfig:
    """``base`` with the training settings in which ``method`` differs: its margin or identity weight,
    or a fixed number of epochs."""
    explore = exploration(method)
    m = ablation.METHODS[explore.base]
    base = base or LabConfig()
    unknown = set(m.train) - {"margin", "id_weight"}
    if unknown:
        raise ValueError(
            f"the lab cannot change {sorted(unknown)} (method {method!r}); it trains margin and id_weight."
        )
    config = replace(base, **m.train)
    if explore.max_epochs:  # exactly max_epochs: no plateau ends it earlier
        rule = replace(config.rule, max_epochs=explore.max_epochs, patience=explore.max_epochs)
        config = replace(config, rule=rule)
    return config


@torch.no_grad()
def test_head(net: LabNet, feats: LabFeatures, split: int, seed: int = 0) -> dict:
    """Rank the split's test videos with the trained head, and with every stand-in of its lambda.

    Returns the metrics (%), ``query_pids``, each query's ``ranks`` and ``ap`` (for the bootstrap over
    persons), ``spearman`` (scores against visibility within each video, for heads with scores) and
    ``ablation`` ({variant: {"raw" | "l2": {rank1, mAP, ranks}}}, :func:`lambda_ablation`).
    """
    _, query, gallery = feats.split(split)
    qz = [net.adapter(feats.frames(v)) for v in query]
    gz = [net.adapter(feats.frames(v)) for v in gallery]
    scores = None
    if net.quality is not None:  # the weights come from the conv features, not from z
        scores = tuple([net.scores(feats.conv_rows[v.start : v.stop][None])[0] for v in vs] for vs in (query, gallery))
    ablated = lambda_ablation(net.head, qz, gz, query, gallery, seed=seed, scores=scores)
    own = ablated["own"]["l2" if getattr(net.head, "l2_normalize", False) else "raw"]
    out = {m: own[m] for m in METRICS}
    out.update(
        query_pids=[v.pid for v in query],
        ranks=own["ranks"].tolist(),
        ap=[round(float(a), 5) for a in own["ap"]],
        spearman=_spearman(net, qz + gz, query + gallery, None if scores is None else scores[0] + scores[1]),
        ablation={
            k: {side: {"rank1": r["rank1"], "mAP": r["mAP"], "ranks": r["ranks"].tolist()} for side, r in v.items()}
            for k, v in ablated.items()
        },
    )
    return out


def _spearman(net: LabNet, zs: list, videos: list, scores: list | None = None) -> float | None:
    """Mean within-video Spearman(score, visibility) of a head with learned scores; None for the others."""
    if net.needs_visibility or not hasattr(net.head, "weigh"):
        return None
    scores = scores or [net.head.raw(z[None], None)[1][0] for z in zs]
    return attention_visibility(scores, [v.visibility for v in videos])["per_tracklet"]


def run_method(feats: LabFeatures, method: str, split: int, config: LabConfig | None = None) -> dict:
    """Train ``method`` (a name of :data:`ALL`) on ``split`` and test it -> the run's record."""
    explore = exploration(method)
    m = ablation.METHODS[explore.base]
    config = lab_config(method, config)
    t0 = time.perf_counter()
    net, history = train_head(
        feats, split, m.model.head, config, smooth=explore.smooth, quality=explore.quality, **m.model.head_options
    )
    record = dict(method=method, split=split, condition=feats.condition, identity=config.identity)
    record.update(test_head(net, feats, split, seed=config.seed))
    record.update(
        epochs=len(history["loss"]),
        stopped=history.get("stopped"),
        decays=history["decays"],
        loss=history["loss"],
        seconds=round(time.perf_counter() - t0, 1),
    )
    return record
