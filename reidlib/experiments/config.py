"""One configuration for every experiment: data, model and training settings, saved as config.yaml (chapter 8).

:class:`ExperimentConfig` holds a :class:`DataConfig`, a :class:`ModelConfig` and a
:class:`~reidlib.training.TrainConfig`; every option of the command line is one of their
fields (the CLI is generated from them), and every run folder keeps its ``config.yaml``, so
``python -m reidlib train --config RUN/config.yaml`` repeats the run.

A config file is data, never code nor a way to read other files: :func:`load_config` reads at
most 1 MB of YAML (safe tags only, aliases bounded), names other files only in the path fields
(``root``, ``cache_dir``), checks every field (type, range, finite numbers, the options of the
head and the backbone), and its errors say where and what without repeating the file.
"""

from __future__ import annotations

import inspect
import math
import os
import re
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

import torch
import yaml

from .._io import atomic_write_text
from ..data.loaders import LOADERS
from ..data.synthetic import PRESETS
from ..evaluation.reranking import RERANK_OPTIONS
from ..models import BACKBONES, HEADS, IDENTITY_INPUTS, make_head
from ..preprocess import FLOW_METHODS, channels
from ..training import TrainConfig

CONFIG = "config.yaml"
MAX_CONFIG_BYTES = 1 << 20  # a run's config.yaml is about 2 KB
MAX_CONFIG_NODES = 10_000  # values in the file once its aliases are expanded (a run's: about 100)
PATH_FIELDS = ("root", "cache_dir")  # the only fields that name files or folders
RUN_KEYS = ("split", "splits", "out")  # top-level keys of a config file besides the experiment's


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
        check_fields(self, "data")
        if self.dataset not in LOADERS:
            raise ValueError(f"data.dataset must be one of {list(LOADERS)}; found {_short(self.dataset)}.")
        if self.dataset != "synthetic" and self.occlusion is not None:
            raise ValueError(f"occlusion is a setting of the synthetic data; found it for {self.dataset!r}.")
        if self.dataset == "synthetic" and self.root is not None:
            raise ValueError(
                "data.root names the folder of a real dataset; the synthetic data are generated, not read. Drop "
                "root (cache_dir keeps rendered frames), or choose a real dataset (e.g. dataset: ilidsvid)."
            )
        if self.dataset == "synthetic" and self.preset not in PRESETS:
            raise ValueError(f"data.preset must be one of {list(PRESETS)}; found {_short(self.preset)}.")
        if self.occlusion is not None and not 0 <= self.occlusion <= 1:
            raise ValueError(f"data.occlusion is a share of tracklets, in [0, 1]; found {self.occlusion}.")
        if self.flow not in FLOW_METHODS:
            raise ValueError(f"data.flow must be one of {list(FLOW_METHODS)}; found {_short(self.flow)}.")


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
        check_fields(self, "model")
        if self.identity not in IDENTITY_INPUTS:
            raise ValueError(f"identity must be one of {list(IDENTITY_INPUTS)}; found {_short(self.identity)}.")
        if self.head not in HEADS:
            raise ValueError(f"model.head must be one of {list(HEADS)}; found {_short(self.head)}.")
        if self.backbone not in BACKBONES:
            raise ValueError(f"model.backbone must be one of {list(BACKBONES)}; found {_short(self.backbone)}.")
        if self.feature_dim < 1 or not 0 <= self.dropout < 1:
            raise ValueError(
                f"model.feature_dim must be >= 1 and model.dropout in [0, 1); found {self.feature_dim} and "
                f"{self.dropout}."
            )
        if self.imagenet and self.backbone != "resnet18":
            raise ValueError(
                f"imagenet=True starts a ResNet-18 from ImageNet weights; the backbone is {self.backbone!r}. "
                "Use backbone='resnet18' (with width 64), or imagenet=False."
            )
        _check_backbone_options(self.backbone, self.backbone_options)
        _check_head_options(self.head, self.feature_dim, self.head_options)

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
        check_fields(self, "")
        check_fields(self.train, "train")
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
        """The inverse of :meth:`to_dict`; unknown keys and bad values are errors that name them."""
        _known(d, cls, "experiment")
        parts = {}
        for key, kind in (("data", DataConfig), ("model", ModelConfig), ("test_data", DataConfig)):
            if d.get(key) is not None:
                _known(d[key], kind, key)
                parts[key] = kind(**d[key])
        if "train" in d:
            _known(d["train"], TrainConfig, "train")
            parts["train"] = TrainConfig.from_dict(_typed(TrainConfig, d["train"]))
        return cls(**parts, **{k: v for k, v in d.items() if k not in ("data", "model", "train", "test_data")})


def _short(value, limit: int = 40) -> str:
    """A value for an error message, cut short (a config's values are shown, never the file)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key_names(keys) -> str:
    """Unknown keys for an error message: identifiers only, at most five (a key may be a line of a file
    that was never a config)."""
    keys = sorted(map(str, keys))
    shown = [k for k in keys if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", k)][:5]
    more = len(keys) - len(shown)
    if not shown:
        return f"({more} key(s) that are not setting names)"
    return str(shown) + (f" and {more} more" if more else "")


def _known(d, kind: type, what: str) -> None:
    if not isinstance(d, dict):
        raise ValueError(
            f"the {what} settings must be a mapping (key: value lines); found a {type(d).__name__}. Only "
            f"{list(PATH_FIELDS)} name files or folders."
        )
    unknown = set(d) - {f.name for f in fields(kind)}
    if unknown:
        raise ValueError(f"unknown {what} setting(s) {_key_names(unknown)}; known: {[f.name for f in fields(kind)]}.")


def _typed(kind: type, d: dict) -> dict:
    """``d`` with lists turned into tuples where ``kind``'s fields are tuples (YAML has no tuples)."""
    hints = typing.get_type_hints(kind)
    return {
        k: tuple(v) if isinstance(v, list) and typing.get_origin(hints.get(k)) is tuple else v for k, v in d.items()
    }


def check_fields(config, where: str) -> None:
    """Check every field of the dataclass ``config`` against its annotation: ints are ints, numbers are
    finite, strings strings, tuples hold their type, mappings have string keys and plain values;
    ``where`` ("data", "train", ...) prefixes the field in the one-line error."""
    hints = typing.get_type_hints(type(config))
    for f in fields(config):
        value, name = getattr(config, f.name), f"{where}.{f.name}" if where else f.name
        why = _type_problem(value, hints[f.name])
        if why:
            raise ValueError(f"{name}: expected {why}; found {_short(value)} ({type(value).__name__}).")


def _type_problem(value, hint) -> str | None:
    """What ``value`` should be for the annotation ``hint`` (None when it is that)."""
    args = typing.get_args(hint)
    if type(None) in args:  # X | None
        rest = [a for a in args if a is not type(None)]
        problems = [_type_problem(value, a) for a in rest]
        return None if value is None or None in problems else " or ".join(problems) + " (or null)"
    origin = typing.get_origin(hint)
    if is_dataclass(hint):
        return None if isinstance(value, hint) else f"a mapping of {hint.__name__} settings"
    if hint is bool:
        return None if isinstance(value, bool) else "true or false"
    if hint is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else "a whole number"
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else "a finite number"
    if hint is str:
        return None if isinstance(value, str) and len(value) <= 4096 and "\0" not in value else "a short string"
    if origin is tuple:
        ok = isinstance(value, (tuple, list)) and all(_type_problem(v, args[0]) is None for v in value)
        return None if ok else f"a list of {getattr(args[0], '__name__', args[0])}s"
    if hint is dict or origin is dict:
        return None if _plain_mapping(value) else "a mapping of option names to numbers, strings or lists of them"
    return None


def _plain_mapping(value, depth: int = 0) -> bool:
    """A mapping with string keys whose values are finite numbers, bools, strings, None, or lists or
    mappings of them (at most 4 levels deep): what the options of a head, a backbone or re-ranking take."""
    if depth > 4:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_mapping(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return len(value) <= 1000 and all(_plain_mapping(v, depth + 1) for v in value) and depth > 0
    if isinstance(value, float):
        return math.isfinite(value) and depth > 0
    return isinstance(value, (bool, int, str, type(None))) and depth > 0


def _check_head_options(head: str, feature_dim: int, options: dict) -> None:
    """Build the head once with ``options`` (a few thousand weights; torch's random state is kept), so
    that an option it does not take is a one-line error now, not a traceback when training starts."""
    try:
        with torch.random.fork_rng(devices=[]):
            make_head(head, feature_dim, **options)
    except (TypeError, ValueError) as e:
        reason = str(e).strip().splitlines()[0][:300]
        raise ValueError(
            f"model.head_options {_key_names(options)} do not fit head {head!r} ({reason}). See the head's options "
            "in reidlib.models (e.g. windows, activation, scorer, hidden), or drop head_options."
        ) from None


def _check_backbone_options(backbone: str, options: dict) -> None:
    known = [
        p
        for p in inspect.signature(BACKBONES[backbone]).parameters
        if p not in ("in_channels", "feature_dim", "dropout")
    ]
    unknown = set(options) - set(known)
    if unknown:
        raise ValueError(
            f"model.backbone_options {_key_names(unknown)} are not options of backbone {backbone!r}; it takes {known}."
        )


def save_config(config: ExperimentConfig, folder: str | os.PathLike, **extra) -> Path:
    """Write ``folder/config.yaml``: the experiment, plus ``extra`` top-level options (e.g. ``split``)."""
    text = yaml.safe_dump({**config.to_dict(), **extra}, sort_keys=False)
    return atomic_write_text(Path(folder) / CONFIG, text)


def read_yaml(path: str | os.PathLike, what: str = "the experiment configuration") -> object:
    """The data of a small YAML file, read as data only: at most :data:`MAX_CONFIG_BYTES`, UTF-8 text,
    safe tags, at most :data:`MAX_CONFIG_NODES` values with aliases expanded. Errors name the file and the
    line, never its content."""
    path = Path(path)
    advice = "Expected a config.yaml written by reidlib (a run folder's), or one in its format."
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise ValueError(f"cannot read {what} {path}: {e.strerror or type(e).__name__}. {advice}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ValueError(f"{what} {path} is larger than {MAX_CONFIG_BYTES // 1024} KB; it is not a config. {advice}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{what} {path} is not UTF-8 text. {advice}") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, {}) > MAX_CONFIG_NODES:
            raise ValueError(
                f"{what} {path} expands to more than {MAX_CONFIG_NODES} values through its YAML aliases (&name / "
                "*name); a config needs none of that. Write the settings out, without nested aliases."
            )
        return None if node is None else loader.construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = re.sub(r"'[^']*'|\"[^\"]*\"", "...", str(getattr(e, "problem", "") or "a syntax error"))
        raise ValueError(f"{what} {path} is not valid YAML{where} ({problem[:100]}). {advice}") from None
    finally:
        loader.dispose()


def _expanded_size(node, memo: dict) -> int:
    """How many values ``node`` becomes once every alias is copied out (memoised per node: linear time)."""
    key = id(node)
    if key not in memo:
        memo[key] = MAX_CONFIG_NODES + 1  # a node that contains itself never ends
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(_expanded_size(n, memo) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        else:
            size = 1
        memo[key] = min(size, MAX_CONFIG_NODES + 1)
    return memo[key]


def load_config(path: str | os.PathLike) -> tuple[ExperimentConfig, dict]:
    """Read a config.yaml -> (the experiment, the other top-level options such as ``split``)."""
    path = Path(path)
    if path.is_dir():
        path = path / CONFIG
    d = read_yaml(path)
    if d is None:
        raise ValueError(
            f"the experiment configuration {path} is empty; expected settings such as data:, model:, train: (a "
            "run folder's config.yaml has them all). Give a run's config.yaml, or leave out --config."
        )
    if not isinstance(d, dict):
        raise ValueError(
            f"the experiment configuration {path} holds a {type(d).__name__}, not a mapping of settings (data:, "
            "model:, train:, ...). Give a run's config.yaml."
        )
    own = {f.name for f in fields(ExperimentConfig)}
    unknown = set(d) - own - set(RUN_KEYS)
    if unknown:
        raise ValueError(
            f"{path}: unknown setting(s) {_key_names(unknown)}; a config holds {sorted(own)} and {list(RUN_KEYS)}."
        )
    try:
        config = ExperimentConfig.from_dict({k: v for k, v in d.items() if k in own})
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from None
    extra = {k: v for k, v in d.items() if k not in own}
    for key, kind in (("split", int), ("splits", str), ("out", str)):
        if key in extra and extra[key] is not None and (type(extra[key]) is not kind):
            raise ValueError(f"{path}: {key} must be a {kind.__name__}; found a {type(extra[key]).__name__}.")
    return config, extra
