"""One lab run: train a head of the ablation on one split's frozen features, test it, ablate its lambda."""

from __future__ import annotations

import time
from dataclasses import replace

import torch

from ...evaluation import METRICS, attention_visibility, lambda_ablation
from .. import ablation
from .features import LabFeatures
from .train import LabConfig, LabNet, train_head

# The heads of the ablation that the lab can train: every method of ablation.METHODS that reads the
# backbone's five input channels (the no-flow rows need another backbone); what the identity classifier
# reads is the lab protocol's choice (LabConfig.identity), so the end-to-end "unit" rows are left out.
METHODS = tuple(name for name, m in ablation.METHODS.items() if m.use_flow and m.model.identity == "raw")


def lab_config(method: str, base: LabConfig | None = None) -> LabConfig:
    """``base`` with the training settings in which ``method`` differs (its margin or identity weight)."""
    m = ablation.METHODS[method]
    base = base or LabConfig()
    unknown = set(m.train) - {"margin", "id_weight"}
    if unknown:
        raise ValueError(
            f"the lab cannot change {sorted(unknown)} (method {method!r}); it trains margin and id_weight."
        )
    return replace(base, **m.train)


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
    ablated = lambda_ablation(net.head, qz, gz, query, gallery, seed=seed)
    own = ablated["own"]["l2" if getattr(net.head, "l2_normalize", False) else "raw"]
    out = {m: own[m] for m in METRICS}
    out.update(
        query_pids=[v.pid for v in query],
        ranks=own["ranks"].tolist(),
        ap=[round(float(a), 5) for a in own["ap"]],
        spearman=_spearman(net, qz + gz, query + gallery),
        ablation={
            k: {side: {"rank1": r["rank1"], "mAP": r["mAP"], "ranks": r["ranks"].tolist()} for side, r in v.items()}
            for k, v in ablated.items()
        },
    )
    return out


def _spearman(net: LabNet, zs: list, videos: list) -> float | None:
    """Mean within-video Spearman(score, visibility) of a head with learned scores; None for the others."""
    if net.needs_visibility or not hasattr(net.head, "weigh"):
        return None
    scores = [net.head.raw(z[None], None)[1][0] for z in zs]
    return attention_visibility(scores, [v.visibility for v in videos])["per_tracklet"]


def run_method(feats: LabFeatures, method: str, split: int, config: LabConfig | None = None) -> dict:
    """Train ``method`` (a name of :data:`METHODS`) on ``split`` and test it -> the run's record."""
    if method not in METHODS:
        raise ValueError(f"the lab trains the methods {list(METHODS)}; found {method!r}.")
    m = ablation.METHODS[method]
    config = lab_config(method, config)
    t0 = time.perf_counter()
    net, history = train_head(feats, split, m.model.head, config, **m.model.head_options)
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
