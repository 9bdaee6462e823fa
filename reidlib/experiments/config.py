"""One configuration for every experiment: data, model and training settings, saved as config.yaml.

:class:`ExperimentConfig` holds a :class:`DataConfig`, a :class:`ModelConfig` and a
:class:`~reidlib.training.TrainConfig`; every option of the command line is one of their
fields (the CLI is generated from them), and every run folder keeps its ``config.yaml``, so
``python -m reidlib train --config RUN/config.yaml`` repeats the run.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml

from ..evaluation.reranking import RERANK_OPTIONS
from ..models import IDENTITY_INPUTS
from ..preprocess import channels
from ..training import TrainConfig, atomic_write_text

CONFIG = "config.yaml"


@dataclass(frozen=True)
class DataConfig:
    """Which videos, and how they are preprocessed.

    Args:
        dataset: synthetic, ilidsvid, prid2011, sduvid or folder.
        root: Folder holding the real datasets (default: $REIDLIB_DATA or ~/reid-data); not for synthetic.
        preset: Synthetic data: the size preset (tiny, quick, small, standard).
        occlusion: Synthetic data: share of tracklets with an occluder (None: the preset's).
        seed: Synthetic data: the seed of the persons, cameras and splits.
        flow: Optical flow method: lk, farneback or dis.
        use_flow: Add the two optical-flow channels to Y, U, V (5 channels; False: 3).
        cache_dir: Where rendered and preprocessed data are cached (default: $REIDLIB_CACHE or
            ~/.cache/reidlib); it never changes a result.
    """

    dataset: str = "synthetic"
    root: str | None = None
    preset: str = "quick"
    occlusion: float | None = None
    seed: int = 0
    flow: str = "lk"
    use_flow: bool = True
    cache_dir: str | None = None

    def __post_init__(self):
        if self.dataset != "synthetic" and self.occlusion is not None:
            raise ValueError(f"occlusion is a setting of the synthetic data; found it for {self.dataset!r}.")


@dataclass(frozen=True)
class ModelConfig:
    """The network: :class:`reidlib.models.VideoReIDNet` (its input channels follow ``DataConfig.use_flow``).

    Args:
        head: Temporal head (reidlib.models.HEADS): combined (the paper), combined_sum, mean, oracle,
            attention, attention_mean, softmax, rnn_attention, rcn, max.
        feature_dim: D, the size of each frame's and the video's feature.
        dropout: Dropout of the frame CNN before its linear layer.
        head_options: Options of the head, e.g. {"windows": [5, 3], "activation": "softmax"}.
        backbone: The frame CNN: paper (McLaughlin et al.'s, as the paper) or resnet18 (chapter 13).
        backbone_options: Options of the backbone, e.g. {"width": 16} for the ResNet.
        imagenet: Start the resnet18 backbone from torchvision's ImageNet weights (downloaded once: needs
            internet; width 64), in every layer whose shape fits (all but the stem and the last linear layer,
            which stay random); False: from scratch.
        identity: What the identity classifier reads: raw (F before any L2 normalisation, the paper) or unit
            (16 F / |F| for every head, so that comparing heads changes only the pooling).
    """

    head: str = "combined"
    feature_dim: int = 128
    dropout: float = 0.6
    head_options: dict = field(default_factory=dict)
    backbone: str = "paper"
    backbone_options: dict = field(default_factory=dict)
    imagenet: bool = False
    identity: str = "raw"

    def __post_init__(self):
        if self.identity not in IDENTITY_INPUTS:
            raise ValueError(f"identity must be one of {list(IDENTITY_INPUTS)}; found {self.identity!r}.")
        if self.imagenet and self.backbone != "resnet18":
            raise ValueError(
                f"imagenet=True starts a ResNet-18 from ImageNet weights; the backbone is {self.backbone!r}. "
                "Use backbone='resnet18' (with width 64), or imagenet=False."
            )

    def arguments(self, use_flow: bool) -> dict:
        """The keyword arguments of ``VideoReIDNet(num_classes, **...)``."""
        backbone = (
            {}
            if self.backbone == "paper" and not self.backbone_options
            else dict(backbone=self.backbone, backbone_kw=dict(self.backbone_options))
        )
        return dict(
            head=self.head,
            in_channels=channels(use_flow),
            feature_dim=self.feature_dim,
            dropout=self.dropout,
            **backbone,
            **({} if self.identity == "raw" else {"identity": self.identity}),
            **self.head_options,
        )


@dataclass(frozen=True)
class ExperimentConfig:
    """An experiment: train on each split of ``data`` and test on its test persons.

    Args:
        data: The training data (and, unless ``test_data`` is set, the test data).
        model: The network.
        train: The training settings (start from a named schedule with --schedule).
        test_data: Cross-dataset testing: test on this dataset's split test persons instead.
        flip: Test-time augmentation: average the features of each video and its mirror image.
        rerank: Test-time k-reciprocal re-ranking of the distances (Zhong et al., CVPR 2017, chapter 13) with
            these options of reidlib.evaluation.rerank, e.g. {"k1": 20, "k2": 6, "lambda_value": 0.3} ({}: those
            defaults); None: off.
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    test_data: DataConfig | None = None
    flip: bool = False
    rerank: dict | None = None

    def __post_init__(self):
        if self.rerank is not None and (not isinstance(self.rerank, dict) or set(self.rerank) - set(RERANK_OPTIONS)):
            raise ValueError(
                f"rerank must be None (off) or a dict of options among {list(RERANK_OPTIONS)} ({{}}: the defaults "
                f"{RERANK_OPTIONS}); found {self.rerank!r}."
            )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["train"] = self.train.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ExperimentConfig:
        """The inverse of :meth:`to_dict`; unknown keys are an error that names them."""
        _known(d, cls, "experiment")
        parts = {}
        for key, kind in (("data", DataConfig), ("model", ModelConfig), ("test_data", DataConfig)):
            if d.get(key) is not None:
                _known(d[key], kind, key)
                parts[key] = kind(**d[key])
        if "train" in d:
            parts["train"] = TrainConfig.from_dict(d["train"])
        return cls(**parts, **{k: v for k, v in d.items() if k not in ("data", "model", "train", "test_data")})


def _known(d: dict, kind: type, what: str) -> None:
    if not isinstance(d, dict):
        raise ValueError(f"the {what} settings must be a mapping; found {type(d).__name__}: {d!r}.")
    unknown = sorted(set(d) - {f.name for f in fields(kind)})
    if unknown:
        raise ValueError(f"unknown {what} setting(s) {unknown}; known: {[f.name for f in fields(kind)]}.")


def save_config(config: ExperimentConfig, folder: str | os.PathLike, **extra) -> Path:
    """Write ``folder/config.yaml``: the experiment, plus ``extra`` top-level options (e.g. ``split``)."""
    text = yaml.safe_dump({**config.to_dict(), **extra}, sort_keys=False)
    return atomic_write_text(Path(folder) / CONFIG, text)


def load_config(path: str | os.PathLike) -> tuple[ExperimentConfig, dict]:
    """Read a config.yaml -> (the experiment, the other top-level options such as ``split``)."""
    path = Path(path)
    if path.is_dir():
        path = path / CONFIG
    try:
        d = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ValueError(
            f"cannot read the experiment configuration {path}: {e}. Expected a config.yaml "
            "written by reidlib (a run folder's)."
        ) from None
    own = {f.name for f in fields(ExperimentConfig)}
    return ExperimentConfig.from_dict({k: v for k, v in d.items() if k in own}), {
        k: v for k, v in d.items() if k not in own
    }
