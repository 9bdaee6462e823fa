"""Golden checksums of the synthetic benchmark: a refactor of the generator must draw the same bytes.

``tests/fixtures/golden/synthetic.json`` holds, as the generator drew them before it became a package
(issue 26), the SHA-256 of every array of a rendering (frames, person, torso, occluder, visibility,
flow_truth, area, hidden, degradation) and of its meta, for every tracklet of the `tiny` and `quick`
presets (degraded and clean, seeds 0 and 1), the first persons of `standard` (degraded and clean),
persons 300-301 of ``SyntheticReID(num_ids=600)``, a generator with every degradation switched on, and
one with three cameras and smaller frames; also the cache key of every preset, and the files of the
`tiny` frames cache and of its preprocessing cache as written to disk (names and bytes). Caches of long
experiments are found by these keys and read from these files.

Bits depend on the machine's numerical libraries: the checksums are compared exactly on a machine like
the one that wrote them; elsewhere each rendering's meta and flags must match exactly and its mean
grey level and visibility closely. Rewrite the fixture only with the code it guards unchanged:
``.venv/bin/python tests/data/test_golden_synthetic.py --write``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy
import torch

from reidlib.data.synthetic import PRESETS, SyntheticReID

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "synthetic.json"
ARRAYS = ("frames", "person", "torso", "occluder", "visibility", "flow_truth", "area", "hidden", "degradation")
EVERY_DEGRADATION = dict(
    seq_len=(12, 16), occlusion=1.0, heavy_occlusion=1.0, distractors=1.0, detection_failures=0.5, seed=5
)
# name -> (generator arguments, the (pid, camid) to render: None for all of them)
GENERATORS = {
    **{
        f"{preset}-seed{seed}": (dict(PRESETS[preset], seed=seed), None)
        for preset in ("tiny", "tiny_clean", "quick", "quick_clean")
        for seed in (0, 1)
    },
    **{
        f"{preset}-seed0": (dict(PRESETS[preset], seed=0), [(p, c) for p in range(3) for c in range(2)])
        for preset in ("standard", "standard_clean")
    },
    "num_ids600": (dict(num_ids=600), [(300, 0), (300, 1), (301, 0), (301, 1)]),
    "every_degradation": (dict(num_ids=10, **EVERY_DEGRADATION), None),
    "three_cameras_small_frames": (
        dict(
            num_ids=4,
            num_cams=3,
            size=(96, 48),
            seq_len=(6, 10),
            seed=2,
            heavy_occlusion=0.5,
            heavy_len=(2, 5),
            distractors=0.5,
            distractor_len=(3, 6),
            detection_failures=0.5,
            failure_len=(2, 4),
        ),
        None,
    ),
}


def machine() -> dict:
    """What decides the bits of a rendering besides the code."""
    return dict(
        numpy=np.__version__,
        scipy=scipy.__version__,
        opencv=cv2.__version__,
        cpu=torch.backends.cpu.get_cpu_capability(),
        arch=platform.machine(),
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rendering_record(r) -> dict:
    """Checksums of one rendering (its pixels; all its arrays with their dtypes and shapes), its meta and
    flags (hex, a byte a frame), and coarse values for another machine."""
    arrays = hashlib.sha256()
    for name in ARRAYS:
        value = np.ascontiguousarray(getattr(r, name))
        arrays.update(f"{name} {value.dtype} {value.shape};".encode())
        arrays.update(value.tobytes())
    return dict(
        frames=sha256(np.ascontiguousarray(r.frames).tobytes()),
        arrays=arrays.hexdigest(),
        shapes=" ".join(f"{name}:{getattr(r, name).dtype}{list(getattr(r, name).shape)}" for name in ARRAYS),
        meta=json.loads(json.dumps(r.meta)),
        flags=r.degradation.tobytes().hex(),
        mean_grey=float(r.frames.mean()),
        visibility_sum=float(r.visibility.sum()),
    )


def renderings(args: dict, keys) -> dict:
    gen = SyntheticReID(**args)
    keys = keys or [(p, c) for p in range(gen.num_ids) for c in range(gen.num_cams)]
    return {f"{p},{c}": rendering_record(gen.render(p, c)) for p, c in keys}


def cache_keys() -> dict:
    return {
        f"{name}-seed{seed}": SyntheticReID(**PRESETS[name], seed=seed).cache_key()
        for name in PRESETS
        for seed in (0, 1)
    }


def store_files(cache_dir: Path) -> dict:
    """The files of the `tiny` frames cache as the generator writes them, and of its preprocessing cache:
    relative path -> SHA-256."""
    from reidlib.data import load_dataset
    from reidlib.preprocess import preprocess_dataset

    preprocess_dataset(load_dataset("synthetic", preset="tiny", cache_dir=cache_dir), cache_dir, progress=False)
    files = sorted(p for p in cache_dir.rglob("*") if p.is_file())
    return {str(p.relative_to(cache_dir)): sha256(p.read_bytes()) for p in files}


@pytest.fixture(scope="module")
def golden():
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def same_machine(golden):
    return golden["machine"] == machine()


@pytest.mark.parametrize("name", GENERATORS)
def test_renderings_are_byte_identical(golden, same_machine, name):
    args, keys = GENERATORS[name]
    got, want = renderings(args, keys), golden["renderings"][name]
    assert list(got) == list(want)
    for key, record in want.items():
        if same_machine:
            assert got[key] == record, f"{name} {key}"
        else:
            assert got[key]["meta"] == record["meta"] and got[key]["flags"] == record["flags"], f"{name} {key}"
            assert got[key]["shapes"] == record["shapes"], f"{name} {key}"
            assert got[key]["mean_grey"] == pytest.approx(record["mean_grey"], abs=0.05), f"{name} {key}"
            assert got[key]["visibility_sum"] == pytest.approx(record["visibility_sum"], abs=1e-3), f"{name} {key}"


def test_cache_keys_are_unchanged(golden):
    assert cache_keys() == golden["cache_keys"]


def test_the_frames_cache_writes_the_same_files(golden, same_machine, tmp_path):
    got = store_files(tmp_path)
    assert sorted(got) == sorted(golden["store_files"])
    if same_machine:
        assert got == golden["store_files"]


def test_the_golden_renderings_cover_every_degradation_kind(golden):
    """The fixture shows every kind of occluder, heavy occluder and detection failure, and distractors."""
    metas = [r["meta"] for records in golden["renderings"].values() for r in records.values()]
    assert {m["occluder"] for m in metas} == {None, "pole", "pedestrian", "object"}
    assert {(m["heavy_occluder"] or {}).get("kind") for m in metas} == {None, "wall", "vehicle", "group"}
    assert {(m["detection_failure"] or {}).get("mode") for m in metas} == {None, "shift", "cut"}
    assert any(m["distractor"] for m in metas)


def one_line_per_rendering(out: dict) -> str:
    """The fixture as JSON with one line per rendering (a change shows as the lines of its renderings)."""
    text = json.dumps({k: v for k, v in out.items() if k != "renderings"}, indent=1)[:-2]
    lines = []
    for name, records in out["renderings"].items():
        rows = ",\n".join(f"   {json.dumps(key)}: {json.dumps(record)}" for key, record in records.items())
        lines.append(f"  {json.dumps(name)}: {{\n{rows}\n  }}")
    return text + ',\n "renderings": {\n' + ",\n".join(lines) + "\n }\n}\n"


def _write() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        files = store_files(Path(tmp))
    out = dict(
        machine=machine(),
        cache_keys=cache_keys(),
        store_files=files,
        renderings={name: renderings(args, keys) for name, (args, keys) in GENERATORS.items()},
    )
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(one_line_per_rendering(out))
    print(f"wrote {FIXTURE}")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    _write()
