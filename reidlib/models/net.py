"""The whole model: frame CNN + temporal head -> video feature, and a shared identity classifier (chapters 4-7)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..preprocess import CROP_SIZE
from .frame_cnn import FrameCNN
from .masks import check_mask
from .pooling import make_head
from .resnet import ResNet18Frames

BACKBONES = {"paper": FrameCNN, "resnet18": ResNet18Frames}
# What the identity classifier reads: "raw", F before any L2 normalisation (the paper's Eq. 4, as its
# Figure 2 normalises F only before the distance); "unit", s F / |F| with s = UNIT_SCALE for every head,
# so that a comparison of heads changes the pooling and not the scale the classifier sees.
IDENTITY_INPUTS = ("raw", "unit")
UNIT_SCALE = 16.0


def identity_input(raw: torch.Tensor, kind: str = "raw") -> torch.Tensor:
    """The video features (B, D) the identity classifier reads (see :data:`IDENTITY_INPUTS`)."""
    return raw if kind == "raw" else UNIT_SCALE * F.normalize(raw, dim=1)


class VideoReIDNet(nn.Module):
    """One Siamese branch (both branches are this module, so they share every weight).

    forward: x (B, T, C, 56, 40), mask (B, T) bool or None (None: no padding), visibility (B, T) or None
    -> (features (B, D), scores (B, T) or None). ``visibility`` is the true visible share of the person
    in each frame, which only the oracle head uses (:class:`~reidlib.models.pooling.OraclePool`).

    Args:
        num_classes: identities of the training set, for :meth:`identity_logits`.
        head: pooling head name for :func:`~reidlib.models.pooling.make_head` ("combined" = the paper).
        in_channels: 5 (YUV + flow) or 3 (YUV only).
        feature_dim: D (128).
        dropout: dropout of the frame CNN (0.6).
        backbone: the frame CNN: ``"paper"`` (:class:`FrameCNN`, McLaughlin et al.'s) or ``"resnet18"``
            (:class:`~reidlib.models.resnet.ResNet18Frames`).
        backbone_kw: more options of the backbone (e.g. ``{"width": 16}`` for the ResNet).
        identity: what the identity classifier reads, "raw" (the paper) or "unit" (:data:`IDENTITY_INPUTS`).
        **head_kw: options of the head.
    """

    def __init__(
        self,
        num_classes: int,
        head: str = "combined",
        in_channels: int = 5,
        feature_dim: int = 128,
        dropout: float = 0.6,
        backbone: str = "paper",
        backbone_kw: dict | None = None,
        identity: str = "raw",
        **head_kw,
    ):
        super().__init__()
        if identity not in IDENTITY_INPUTS:
            raise ValueError(f"identity must be one of {IDENTITY_INPUTS}; found {identity!r}.")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1 (the number of training identities); found {num_classes}.")
        if backbone not in BACKBONES:
            raise ValueError(f"Unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}.")
        self.head_name, self.head_kw = head, dict(head_kw)  # head_kw: saved with checkpoints (model_config)
        self.backbone, self.backbone_kw = backbone, dict(backbone_kw or {})  # also saved when not the default
        self.identity = identity  # saved when not the default
        self.cnn = BACKBONES[backbone](in_channels, feature_dim, dropout, **self.backbone_kw)
        self.head = make_head(head, feature_dim, **head_kw)
        self.classifier = nn.Linear(feature_dim, num_classes)

    def frame_features(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Per-frame features z (B, T, D); padded frames are not run through the CNN and stay 0."""
        if x.dim() != 5:
            raise ValueError(
                f"VideoReIDNet expects x of shape (B, T, C, 56, 40); found {tuple(x.shape)}. "
                "Use x.unsqueeze(0) for a single sequence."
            )
        if mask is None:
            return self.cnn(x)  # (B, T, D)
        if mask.shape != x.shape[:2] or mask.dtype != torch.bool:
            raise ValueError(
                f"mask must be a bool tensor of shape (B, T) = {tuple(x.shape[:2])}; "
                f"found {mask.dtype} {tuple(mask.shape)}."
            )
        real = self.cnn(x[mask])  # (real frames, D)
        z = real.new_zeros(*x.shape[:2], real.shape[-1])  # output dtype: autocast-safe
        return z.masked_scatter(mask[..., None], real)  # (B, T, D)

    @property
    def needs_visibility(self) -> bool:
        """True when the head pools with the true visibility (the oracle): pass ``visibility=``."""
        return getattr(self.head, "needs_visibility", False)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, visibility: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        features, _, scores = self.encode(x, mask, visibility)
        return features, scores

    def encode(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, visibility: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """x (B, T, C, 56, 40) -> (features for the distance (B, D), the features the identity classifier
        reads (B, D), scores (B, T) or None).

        The two differ for a head that normalises its output (the paper's combination, as its Figure 2:
        F is L2-normalised before the distance, while the identity classifier reads F itself), and for
        ``identity="unit"`` (the classifier reads s F / |F| whatever the head).
        """
        if mask is not None:
            check_mask(mask, "VideoReIDNet")  # once per batch; the head and its scorer only check shapes
        z = self.frame_features(x, mask)
        if getattr(self.head, "l2_normalize", False):
            raw, scores = self.head.raw(z, *self._head_inputs(mask, visibility))
            return F.normalize(raw, dim=1), identity_input(raw, self.identity), scores
        features, scores = self.pool(z, mask, visibility)
        return features, identity_input(features, self.identity), scores

    def pool(
        self, z: torch.Tensor, mask: torch.Tensor | None = None, visibility: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The temporal head on frame features z (B, T, D) -> (features (B, D), scores (B, T) or None)."""
        return self.head(z, *self._head_inputs(mask, visibility))

    def _head_inputs(self, mask: torch.Tensor | None, visibility: torch.Tensor | None) -> tuple:
        """What the head takes after the frame features: the mask, and the visibility for the oracle."""
        return (mask, visibility) if self.needs_visibility else (mask,)

    def identity_logits(self, features: torch.Tensor) -> torch.Tensor:
        """Video features (B, D) -> identity logits (B, num_classes)."""
        return self.classifier(features)

    def summary(self, num_frames: int = 16, show: bool = True) -> dict[str, int]:
        """Print (and return) parameters and multiply-accumulates (MACs) per frame and per N-frame sequence."""
        table = {
            "params_cnn": _params(self.cnn),
            "params_head": _params(self.head),
            "params_classifier": _params(self.classifier),
            "params_total": _params(self),
            "macs_per_frame": count_macs(self.cnn, torch.zeros(1, self.cnn.in_channels, *CROP_SIZE)),
        }
        z = torch.zeros(1, num_frames, self.cnn.feature_dim)
        table["macs_head"] = count_macs(self.head, z)
        table["macs_per_sequence"] = num_frames * table["macs_per_frame"] + table["macs_head"]
        if show:
            print(
                f"VideoReIDNet(head={self.head_name!r}), N = {num_frames} frames of "
                f"{self.cnn.in_channels} x {CROP_SIZE[0]} x {CROP_SIZE[1]}"
            )
            print(
                f"  parameters: frame CNN {table['params_cnn']:,} + head {table['params_head']:,} + "
                f"identity classifier {table['params_classifier']:,} = {table['params_total']:,}"
            )
            print(
                f"  multiply-accumulates: {table['macs_per_frame']:,} per frame (CNN); head {table['macs_head']:,} "
                f"per sequence; {table['macs_per_sequence']:,} per sequence of {num_frames} frames "
                f"({2 * table['macs_per_sequence'] / 1e9:.3f} GFLOP forward)"
            )
        return table


def model_device(model: nn.Module, device: str | torch.device | None = None) -> torch.device:
    """The device of ``model``'s parameters; an error when ``device`` is given and differs."""
    params = list(model.parameters())
    if not params:
        raise ValueError(f"{type(model).__name__} has no parameters; expected a reidlib VideoReIDNet.")
    devices = {p.device for p in params}
    if len(devices) > 1:
        raise RuntimeError(
            f"the model's parameters are spread over {sorted(map(str, devices))}; move the whole "
            "model to one device with model.to(device)."
        )
    own = devices.pop()
    want = None if device is None else torch.device(device)
    if want is not None and (want.type != own.type or want.index not in (None, own.index)):
        raise RuntimeError(
            f"the model is on {own} but device={device} was asked for the data; they must match. "
            f"Call model.to({str(device)!r}) first, or leave device=None to use the model's device."
        )
    return own


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def count_macs(module: nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass (batch 1), counted by hooks on the layers that do them.

    Counts Conv1d/2d, ConvTranspose1d/2d, Linear and RNN/LSTM/GRU (gates x hidden x (input + hidden)
    per step); poolings, activations and elementwise products are not MACs and are left out.
    """
    total = 0

    def hook(m, args, out):
        nonlocal total
        x = args[0]
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            total += out.numel() * (m.in_channels // m.groups) * int(torch.tensor(m.kernel_size).prod())
        elif isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
            total += x.numel() * (m.out_channels // m.groups) * int(torch.tensor(m.kernel_size).prod())
        elif isinstance(m, nn.Linear):
            total += out.numel() * m.in_features
        elif isinstance(m, nn.RNNBase):
            steps = int(x.data.shape[0]) if hasattr(x, "batch_sizes") else x.shape[0] * x.shape[1]
            gates = {"LSTM": 4, "GRU": 3}.get(m.mode, 1)
            dirs = 2 if m.bidirectional else 1
            total += steps * dirs * gates * m.hidden_size * (m.input_size + m.hidden_size)

    kinds = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear, nn.RNNBase)
    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, kinds)]
    was_training = module.training
    param = next(module.parameters(), None)
    if param is not None:  # the counting inputs follow the module (a model on the GPU, say)
        inputs = [x.to(param.device) if isinstance(x, torch.Tensor) else x for x in inputs]
    try:
        module.eval()
        with torch.no_grad():
            module(*inputs)
    finally:
        module.train(was_training)
        for h in handles:
            h.remove()
    return total
