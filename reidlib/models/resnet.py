"""A ResNet-18 frame backbone for 56 x 40 frames (chapter 13): a stronger alternative to the paper's CNN.

ResNet-18 (He et al., CVPR 2016) is four stages of two BasicBlocks (3x3 conv, batch norm, ReLU,
3x3 conv, batch norm, plus the input: a 1x1 conv where the shape changes) with 64, 128, 256 and
512 channels, the last three starting with stride 2. Its ImageNet stem (7x7 conv stride 2 and a
max-pool) would shrink a 56 x 40 frame to 2 x 2 pixels at the last stage; here the stem is one 3x3
conv with stride 1 and no max-pool, so the last stage sees 7 x 5 (4 x 3 with ``stem_stride=2``).
Global average pooling and a linear layer give the D-dimensional frame feature, like
:class:`~reidlib.models.FrameCNN`.

Parameter names follow torchvision's ``resnet18`` (``conv1``, ``bn1``, ``layer1.0.conv1``, ...,
``fc``), so :func:`load_imagenet_weights` can copy its ImageNet weights into every layer whose
shape matches: all but the stem conv (7x7 RGB there) and ``fc`` (1000 classes there), when
``width`` is 64. Those weights were learned on RGB images normalised with ImageNet statistics, and
the new stem starts random; whether they help on YUV + flow frames is for an experiment to say.
"""

from __future__ import annotations

import urllib.error

import torch
from torch import nn

from ..preprocess import CROP_SIZE

RESNET18_URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"  # torchvision's ImageNet weights


class BasicBlock(nn.Module):
    """Two 3x3 convs with batch norm and a shortcut: (N, c_in, H, W) -> (N, c_out, H / stride, W / stride)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18Frames(nn.Module):
    """Frames -> features.  (B, T, C, 56, 40) -> (B, T, D)  or  (B*T, C, 56, 40) -> (B*T, D).

    Args:
        in_channels: 5 (Y, U, V, flow x, flow y) or 3 without optical flow.
        feature_dim: D (128, as the paper's CNN).
        dropout: dropout rate before the last linear layer.
        width: channels of the first stage (64 in ResNet-18; the stages have width x 1, 2, 4, 8).
            The cost grows as width^2: 1.22, 0.31 and 0.08 GMAC per frame for 64, 32 and 16 (the
            paper's CNN: 0.026), measured with :func:`~reidlib.models.count_macs`.
        stem_stride: stride of the 3x3 stem (1, or 2 for about a quarter of the cost: 0.33 GMAC at 64).
    """

    def __init__(
        self, in_channels: int = 5, feature_dim: int = 128, dropout: float = 0.0, width: int = 64, stem_stride: int = 1
    ):
        super().__init__()
        self.in_channels, self.feature_dim = in_channels, feature_dim
        self.conv1 = nn.Conv2d(in_channels, width, 3, stem_stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        chans = [width, 2 * width, 4 * width, 8 * width]
        for i, c in enumerate(chans):
            c_in = chans[max(i - 1, 0)]
            self.add_module(f"layer{i + 1}", nn.Sequential(BasicBlock(c_in, c, 1 if i == 0 else 2), BasicBlock(c, c)))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(chans[-1], feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (4, 5) or tuple(x.shape[-3:]) != (self.in_channels, *CROP_SIZE):
            raise ValueError(
                f"ResNet18Frames expects frames of shape (B, T, {self.in_channels}, 56, 40) or "
                f"(B*T, {self.in_channels}, 56, 40); found {tuple(x.shape)}. Crop the 64x48 preprocessed "
                "frames to 56x40 (reidlib.preprocess.crop_and_flip) and check in_channels (5 with optical "
                "flow, 3 without)."
            )
        lead = x.shape[:-3]  # (B, T) or (B*T,)
        h = self.relu(self.bn1(self.conv1(x.reshape(-1, *x.shape[-3:]))))
        h = self.layer4(self.layer3(self.layer2(self.layer1(h))))  # (B*T, 8 width, 7, 5) for stem_stride 1
        z = self.fc(self.dropout(h.mean((2, 3))))  # (B*T, D)
        return z.reshape(*lead, self.feature_dim)


def load_imagenet_weights(
    model: ResNet18Frames, state_dict: dict | None = None, url: str = RESNET18_URL, progress: bool = True
) -> dict:
    """Copy ImageNet ResNet-18 weights into every tensor of ``model`` with the same name and shape.

    ``state_dict`` None downloads torchvision's file from ``url`` with ``torch.hub`` (cached in
    ``torch.hub.get_dir()/checkpoints``). Returns ``{"loaded": [names], "skipped": {name: why}}``
    for the model's tensors; the skipped ones keep their values.
    """
    if not isinstance(model, ResNet18Frames):
        raise TypeError(
            f"load_imagenet_weights expects a ResNet18Frames; found {type(model).__name__}. For a "
            "VideoReIDNet(backbone='resnet18') pass its .cnn."
        )
    if state_dict is None:
        try:
            state_dict = torch.hub.load_state_dict_from_url(url, progress=progress, map_location="cpu")
        except (urllib.error.URLError, OSError) as e:
            target = f"{torch.hub.get_dir()}/checkpoints/{url.rsplit('/', 1)[-1]}"
            raise ConnectionError(
                f"Could not download the ImageNet weights of ResNet-18 from {url} ({e}). Without internet, "
                f"fetch that file elsewhere and put it at {target} (torch.hub looks there first), or pass "
                "state_dict=torch.load(path). A model trained from scratch needs no weights."
            ) from e
    own = model.state_dict()
    loaded = [k for k, v in own.items() if k in state_dict and tuple(state_dict[k].shape) == tuple(v.shape)]
    skipped = {
        k: "not in the weights"
        if k not in state_dict
        else f"shape {tuple(state_dict[k].shape)} there, {tuple(v.shape)} here"
        for k, v in own.items()
        if k not in loaded
    }
    if not any(k.endswith("weight") for k in loaded):
        raise ValueError(
            f"None of the {len(own)} tensors of the model fits the given weights (e.g. {next(iter(skipped.items()))}). "
            "Expected torchvision's resnet18 state dict and a model with width=64."
        )
    model.load_state_dict({**own, **{k: state_dict[k].to(own[k].dtype) for k in loaded}})
    return {"loaded": loaded, "skipped": skipped}
