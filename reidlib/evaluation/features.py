"""Video features at test time: every frame of a sequence, in chunks of bounded memory (chapter 9).

The frame CNN runs on at most ``chunk`` frames at a time; only the small per-frame
features (T, 128) of a whole sequence are held together, for the temporal head. So a
sequence of any length needs the activation memory of one chunk.
"""

from __future__ import annotations

import torch
from torch import nn
from tqdm.auto import tqdm

from ..models import model_device
from ..preprocess import channels, make_input, mirror


@torch.inference_mode()
def sequence_feature(
    model: nn.Module, x: torch.Tensor, chunk: int = 128, visibility: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One whole sequence x (T, C, 56, 40) -> (feature (D,), scores (T,) or None), frames in chunks.

    ``x`` may live on the cpu; each chunk is moved to the model's device. ``visibility`` (T,)
    is needed by the oracle head only.
    """
    if x.dim() != 4 or len(x) == 0:
        raise ValueError(f"sequence_feature expects one sequence (T, C, 56, 40) with T >= 1; found {tuple(x.shape)}.")
    dev = model_device(model)
    z = torch.cat(
        [model.frame_features(x[None, i : i + chunk].to(dev)) for i in range(0, len(x), chunk)], 1
    )  # (1, T, D)
    v = None if visibility is None else torch.as_tensor(visibility, dtype=z.dtype, device=dev)[None]
    pooled, scores = model.pool(z, None, v)  # (1, D), (1, T) or None
    return pooled[0], None if scores is None else scores[0]


def extract_features(
    model: nn.Module,
    tracklets: list,
    data=None,
    chunk: int = 128,
    flip: bool = False,
    device: str | torch.device | None = None,
    progress: bool = False,
    desc: str = "features",
) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    """Features of whole tracklets -> (features (Q, D) float32 on the cpu, scores: Q tensors (T_i,) or None).

    Args:
        model: a VideoReIDNet, put in eval mode for the call (then restored).
        tracklets: the Q tracklets (all their frames are used).
        data: a :class:`reidlib.preprocess.PreprocessedDataset` holding them; None
            preprocesses each tracklet on the fly (slower).
        chunk: frames per CNN call; bounds the memory of long sequences.
        flip: test-time augmentation: average the features (and scores) of each
            sequence and its mirror image.
        device: must match the model's device when given (the data follow the model).
    """
    if len(tracklets) == 0:
        raise ValueError("extract_features got no tracklets; expected at least one (is the query or gallery empty?).")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1 frame; found {chunk}.")
    model_device(model, device)
    in_channels = model.cnn.in_channels
    was_training = model.training
    model.eval()
    feats, all_scores = [], []
    try:
        for t in tqdm(tracklets, desc=desc, disable=not progress, unit="video"):
            use_flow = in_channels == channels(True)
            x = data.input(t, train=False) if data is not None else make_input(t, use_flow=use_flow)
            if x.shape[1] != in_channels:
                raise ValueError(
                    f"the data have {x.shape[1]} channels per frame but the model takes {in_channels}. "
                    f"Preprocess with use_flow={use_flow}."
                )
            v = _visibility(model, t)
            f, s = sequence_feature(model, x, chunk, v)
            if flip:
                f2, s2 = sequence_feature(model, mirror(x), chunk, v)
                f, s = (f + f2) / 2, None if s is None else (s + s2) / 2
            feats.append(f.float().cpu())
            all_scores.append(None if s is None else s.float().cpu())
    finally:
        model.train(was_training)
    return torch.stack(feats), all_scores


@torch.inference_mode()
def frame_features(
    model: nn.Module, tracklets: list, data=None, chunk: int = 128, progress: bool = False
) -> list[torch.Tensor]:
    """Per-frame features z of whole tracklets, before the temporal head -> one (T_i, D) float32 cpu tensor each.

    What a test-time ablation of the head pools (:func:`reidlib.evaluation.lambda_ablation`).
    The model runs in eval mode (no dropout); ``data`` as in :func:`extract_features`.
    """
    dev = model_device(model)
    was_training = model.training
    model.eval()
    use_flow = model.cnn.in_channels == channels(True)
    out = []
    try:
        for t in tqdm(tracklets, desc="frame features", disable=not progress, unit="video"):
            x = data.input(t, train=False) if data is not None else make_input(t, use_flow=use_flow)
            z = torch.cat([model.frame_features(x[None, i : i + chunk].to(dev)) for i in range(0, len(x), chunk)], 1)
            out.append(z[0].float().cpu())
    finally:
        model.train(was_training)
    return out


def _visibility(model: nn.Module, tracklet) -> torch.Tensor | None:
    """The tracklet's true visibility (T,) when the model's head pools with it (the oracle), else None."""
    if not getattr(model, "needs_visibility", False):
        return None
    if tracklet.visibility is None:
        raise ValueError(
            f"the oracle head needs the true visibility of every frame, and {tracklet!r} has none: only the "
            "synthetic benchmark knows it. Use another head on real data."
        )
    return torch.as_tensor(tracklet.visibility)
