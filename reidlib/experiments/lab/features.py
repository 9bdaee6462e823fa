"""The lab's data: frame features of persons the frozen frame CNN never saw, computed once and cached (chapter 11).

The backbone is the frame CNN of a shipped model (default: mean pooling's, trained on 150 of
the persons 0-299 of the synthetic ``standard`` benchmark). The lab's persons come from a
larger population of the same generator: a person is seeded by (seed, pid) alone, so persons
300-599 of ``SyntheticReID(num_ids=600, seed=0)`` share the cameras of ``standard`` but appear
in no video the backbone was trained on, neither as the target nor as a distractor (``standard``
draws its distractors from its own 300 persons). :func:`check_unseen` refuses anything else.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..._store import FrameStore, Stored
from ...data import PRESETS, SyntheticReID, make_splits
from ...data.synthetic import GENERATOR_VERSION, RENDER_VERSION
from ...preprocess import cache_root, make_input
from ..shipped import pretrained, recorded_experiment, weights_path

FEATURES_VERSION = 2  # bump when what is cached changes, or its layout (2: a frame store, with checksums)
ARRAYS = ("conv", "visibility")  # the store's arrays, a row a frame: (frames, 2560) float16, (frames,) float32
CONDITIONS = ("degraded", "clean")
RATES = ("occlusion", "heavy_occlusion", "distractors", "detection_failures")  # per-tracklet probabilities


@dataclass(frozen=True)
class Population:
    """Persons ``first`` .. ``first + count - 1`` of ``SyntheticReID(num_ids, seed)`` with the video lengths
    and degradation rates of the preset ``size`` (``<size>_clean`` for the clean condition).

    ``num_ids`` is the generator's whole population: distractors are drawn from all of it.
    """

    seed: int = 0
    num_ids: int = 600
    first: int = 300
    count: int = 300
    size: str = "standard"
    degradation: float = 1.0  # multiplies the preset's degradation rates (each capped at 1)

    @property
    def pids(self) -> list[int]:
        return list(range(self.first, self.first + self.count))

    def generator(self, condition: str) -> SyntheticReID:
        if condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {CONDITIONS}; found {condition!r}.")
        preset = dict(PRESETS[self.size if condition == "degraded" else f"{self.size}_clean"])
        for rate in RATES:
            preset[rate] = min(1.0, preset[rate] * self.degradation)
        return SyntheticReID(**{**preset, "num_ids": self.num_ids, "seed": self.seed})

    def describe(self) -> str:
        rates = "" if self.degradation == 1 else f", degradation rates x{self.degradation:g}"
        last = self.first + self.count - 1
        return f"persons {self.first}-{last} of {self.num_ids} (seed {self.seed}, `{self.size}`{rates})"


# The primary design: persons 300-599 of seed 0. A held-out population for confirmation: seed 1 (other persons
# and, since cameras are seeded too, other cameras). QUICK: the primary population's first 40 persons.
PRIMARY = Population()
HELD_OUT = Population(seed=1, num_ids=300, first=0)
QUICK = Population(count=40)
# The same persons with half and with twice the degradation rates (chapter 11: when does attention learn?).
LIGHT, HEAVY = Population(degradation=0.5), Population(degradation=2.0)


def backbone_record(head: str = "mean") -> dict:
    """The record of the shipped ``head`` model (its experiment, training persons and SHA-256)."""
    return json.loads(weights_path(head).with_suffix(".json").read_text())


def backbone(head: str = "mean") -> tuple[torch.nn.Module, dict]:
    """The frozen frame CNN of the shipped ``head`` model (eval mode) and that model's record."""
    model, record = pretrained(head, "cpu")
    cnn = model.cnn.eval()
    for p in cnn.parameters():
        p.requires_grad_(False)
    return cnn, record


def check_unseen(record: dict, population: Population) -> None:
    """Refuse a population with a person that appears in a video the backbone was trained on.

    The backbone's training videos show persons of its own generator only (targets and distractors),
    so with the same seed every lab person must lie beyond that generator's ``num_ids``.
    """
    data = recorded_experiment(record).data
    if data.dataset != "synthetic":
        raise ValueError(f"the lab's backbone must be trained on the synthetic benchmark; found {data.dataset!r}.")
    if data.seed == population.seed and population.first < PRESETS[data.preset]["num_ids"]:
        raise ValueError(
            f"the backbone was trained on `{data.preset}` (seed {data.seed}), whose videos show persons "
            f"0-{PRESETS[data.preset]['num_ids'] - 1}; the lab's {population.describe()} overlap them. Use "
            f"persons from {PRESETS[data.preset]['num_ids']} on (e.g. lab.PRIMARY) or another seed."
        )


@dataclass(frozen=True)
class Video:
    """What the protocol needs of one tracklet: who, which camera, its rows in the cache, its visibility."""

    pid: int
    camid: int
    start: int
    stop: int
    visibility: np.ndarray

    def __len__(self) -> int:
        return self.stop - self.start


class LabFeatures:
    """The cached features of one population in one condition, from the frame store ``folder``.

    ``conv``: (frames, 2560) float16, the backbone's flattened conv stages; ``z``: (frames, 128) float32,
    its frozen frame features (the linear layer applied to ``conv``); ``visibility``: (frames,);
    ``videos``: one :class:`Video` per (person, camera), person-major; ``splits``: random halves of the
    persons (seed = the population's seed), as the paper's protocol.
    """

    def __init__(self, folder: Path, population: Population, condition: str, fc: torch.nn.Linear, num_splits: int):
        self.folder, self.population, self.condition = Path(folder), population, condition
        stored = features_store(self.folder).read()
        why = stored if isinstance(stored, str) else _damage(stored)
        if why is not None:
            raise ValueError(
                f"the lab's features cache {self.folder} is damaged: {why}. Call lab_features: it rebuilds it."
            )
        self.conv = stored.arrays["conv"]
        self.visibility = np.array(stored.arrays["visibility"])
        self.videos = [
            Video(p, c, s, e, self.visibility[s:e]) for p, c, s, e in stored.index["videos"]
        ]  # (pid, camid, start, stop)
        self.backbone_sha256 = stored.index["backbone_sha256"]
        with torch.no_grad():
            self.z = fc(torch.from_numpy(np.asarray(self.conv, dtype=np.float32)))  # (frames, D)
        self.splits = make_splits(population.pids, num_splits, seed=population.seed)

    @cached_property
    def by_pid(self) -> dict[int, dict[int, Video]]:
        out: dict[int, dict[int, Video]] = {}
        for v in self.videos:
            out.setdefault(v.pid, {})[v.camid] = v
        return out

    @cached_property
    def conv_rows(self) -> torch.Tensor:
        """The conv features in memory (frames, 2560) float16: what a quality branch reads (a copy: the cache
        file is mapped read-only)."""
        return torch.from_numpy(np.array(self.conv))

    def split(self, i: int) -> tuple[list[Video], list[Video], list[Video]]:
        """(train videos, query = camera 0 of the test persons, gallery = camera 1)."""
        s = self.splits[i]
        train = [v for p in s["train"] for v in self.by_pid[p].values()]
        return train, [self.by_pid[p][0] for p in s["test"]], [self.by_pid[p][1] for p in s["test"]]

    def frames(self, video: Video) -> torch.Tensor:
        """The frozen frame features of a whole video (T, D)."""
        return self.z[video.start : video.stop]


def lab_features(
    population: Population = PRIMARY,
    condition: str = "degraded",
    head: str = "mean",
    cache_dir: str | os.PathLike | None = None,
    num_splits: int = 10,
    progress: bool = False,
) -> LabFeatures:
    """The frozen features of ``population`` in ``condition`` under the shipped ``head`` model's frame CNN,
    computed once (about 2 ms a frame on one CPU core) and cached under ``cache_root(cache_dir, "lab")``."""
    cnn, record = backbone(head)
    check_unseen(record, population)
    gen = population.generator(condition)
    spec = dict(
        version=FEATURES_VERSION,
        population={k: v for k, v in asdict(population).items() if k != "degradation" or v != 1.0},
        condition=condition,
        generator=[GENERATOR_VERSION, RENDER_VERSION, gen.cache_key()],
        backbone_sha256=record["sha256"],
    )
    key = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    folder = cache_root(cache_dir, "lab") / f"{population.size}-{condition}-{key}"
    features_store(folder).get(lambda: _contents(gen, population, cnn, spec, progress), _damage)
    return LabFeatures(folder, population, condition, cnn.fc, num_splits)


def features_store(folder: Path) -> FrameStore:
    """The frame store of one population's features in one condition."""
    return FrameStore(folder, ARRAYS, "the lab's features cache")


def _damage(stored: Stored) -> str | None:
    """What is wrong with the videos of a store whose files passed their checks (None: nothing)."""
    videos = stored.index.get("videos")
    if "backbone_sha256" not in stored.index or not isinstance(videos, list) or not videos:
        return "its index.json lists no videos or no backbone (edited, or another program's)"
    try:
        starts, stops = zip(*[(int(start), int(stop)) for _, _, start, stop in videos], strict=True)
    except (TypeError, ValueError) as e:
        return f"its index.json lists videos that are not (pid, camid, start, stop) ({type(e).__name__})"
    if list(starts) != [0, *stops[:-1]] or stops[-1] != stored.rows or min(np.subtract(stops, starts)) < 1:
        return f"its index.json lists videos that do not cover its {stored.rows} frames one after another"
    return None


@torch.inference_mode()
def _contents(gen: SyntheticReID, population: Population, cnn, spec: dict, progress: bool) -> tuple[dict, dict]:
    """Render, preprocess and run the frozen conv stages over every video -> (the store's arrays, its index)."""
    keys = [(p, c) for p in population.pids for c in range(gen.num_cams)]
    conv, vis, videos, start = [], [], [], 0
    for p, c in tqdm(keys, desc="lab features", disable=not progress, unit="video"):
        t = gen.tracklet(p, c)
        conv.append(cnn.conv_features(make_input(t)).to(torch.float16).numpy())
        vis.append(np.asarray(t.visibility, dtype=np.float32))
        videos.append([p, c, start, start + len(t)])
        start += len(t)
    return dict(conv=np.concatenate(conv), visibility=np.concatenate(vis)), {**spec, "videos": videos}
