"""Bad inputs, as users and attackers give them: one row per case (issue 27's list), each run as the
user would (mostly `python -m reidlib` in this process) on the synthetic `tiny` data.

A row does the bad thing and returns what the user saw (the error, or the warning); the table says
what that must say, in one line, without a traceback, and what must still hold afterwards (nothing
lost, nothing leaked, nothing wrong served). A new case is one more row.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import reidlib
from reidlib._io import CacheRebuiltWarning, folder_lock, temp_tag, write_error
from reidlib.cli import main
from reidlib.data import download as dl
from reidlib.data import load_dataset
from reidlib.evaluation import cmc, distance_matrix
from reidlib.experiments import DataConfig
from reidlib.experiments.run import evaluation_folder
from reidlib.preprocess import preprocess_dataset
from reidlib.training import read_checkpoint

TINY = ["--data.preset", "tiny", "--schedule", "demo", "--train.epochs", "1", "--train.window", "4"]
TINY += ["--train.batch_size", "8", "--device", "cpu"]
SECRET = "TOPSECRET-do-not-print-0451"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished `train` run on tiny (split 1) and the cache it used."""
    base = tmp_path_factory.mktemp("trained")
    cache, run = base / "cache", base / "run"
    assert main(["train", *TINY, "--split", "1", "--out", str(run), "--data.cache_dir", str(cache)]) == 0
    return run, cache


@dataclass
class Ctx:
    tmp: Path
    run: Path  # a copy of the trained run, to spoil
    cache: Path  # the trained run's cache (shared: rows that damage it use their own)
    capsys: object

    def cli(self, *argv: str, code: int = 1) -> str:
        """Run ``python -m reidlib argv`` here -> what it printed to stderr (its exit code must be ``code``)."""
        self.capsys.readouterr()
        got = main(list(argv))
        err = self.capsys.readouterr().err
        assert got == code, err
        return err

    def tiny_args(self, out: Path, *more: str) -> list[str]:
        return [*TINY, "--out", str(out), "--data.cache_dir", str(self.cache), *more]


def error_of(fn: Callable, *kinds: type[BaseException]) -> str:
    """Call ``fn`` -> the message of the error it must raise."""
    with pytest.raises(kinds or (ValueError, OSError)) as e:
        fn()
    return str(e.value)


def warning_of(fn: Callable, kind: type[Warning]) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    found = [str(w.message) for w in caught if issubclass(w.category, kind)]
    assert found, f"no {kind.__name__}"
    return found[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in ``folder`` and its bytes, but reidlib's lock file (which names its last holder)."""
    files = (p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".reidlib.lock")
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


# ---------------------------------------------------------------------------------------------- rows
def refused_train_keeps_config(c: Ctx) -> str:
    before = snapshot(c.run)
    err = c.cli("train", "--data.preset", "quick", "--model.head", "mean", "--schedule", "short", "--device", "cpu",
                "--out", str(c.run), "--data.cache_dir", str(c.cache))  # fmt: skip
    assert snapshot(c.run) == before  # config.yaml still says tiny/combined beside its checkpoint
    return err


def refused_experiment_keeps_config(c: Ctx) -> str:
    exp = c.tmp / "exp"
    exp.mkdir()
    (exp / "config.yaml").write_text((c.run / "config.yaml").read_text().replace("split: 1\n", ""))
    before = snapshot(exp)
    err = c.cli("experiment", *c.tiny_args(exp, "--model.head", "mean", "--splits", "0"))
    assert snapshot(exp) == before and not (exp / "split0").exists()
    return err


def second_process_is_refused(c: Ctx) -> str:
    before = snapshot(c.run)
    with folder_lock(c.run):  # another `train` (or a --resume) holds the folder
        err = c.cli("train", *c.tiny_args(c.run, "--split", "1", "--resume"))
    assert snapshot(c.run) == before
    return err


def user_folder_is_refused(c: Ctx) -> str:
    mine = c.tmp / "mine"
    mine.mkdir()
    for name, text in (("config.yaml", "my: notes\n"), ("results.json", "[1, 2]"), (".notes.abcdefgh.tmp", "x")):
        (mine / name).write_text(text)
    before = snapshot(mine)
    err = c.cli("train", *c.tiny_args(mine))
    assert snapshot(mine) == before
    return err


def overwrite_keeps_other_files(c: Ctx) -> str:
    (c.run / "notes.txt").write_text("mine")
    c.cli("train", *c.tiny_args(c.run, "--model.head", "mean", "--overwrite"), code=0)
    assert (c.run / "notes.txt").read_text() == "mine"
    assert yaml.safe_load((c.run / "config.yaml").read_text())["model"]["head"] == "mean"
    return "overwritten"


def evaluate_writes_a_new_folder(c: Ctx) -> str:
    before = (c.run / "results.json").read_bytes()
    ev = ["evaluate", "--checkpoint", str(c.run / "checkpoint.pt"), "--data.preset", "tiny", "--splits", "1"]
    ev += ["--data.cache_dir", str(c.cache), "--device", "cpu"]
    c.cli(*ev, code=0)
    c.cli(*ev, code=0)
    assert (c.run / "results.json").read_bytes() == before  # the training's results stay
    made = sorted(p.name for p in c.run.iterdir() if p.is_dir())
    assert made == ["evaluate-synthetic-tiny", "evaluate-synthetic-tiny-2"], made
    return c.cli("evaluate", *ev[1:], "--out", str(c.run))  # its own run folder, named: refused


def evaluate_never_writes_into_the_package(c: Ctx) -> str:
    weights = Path(reidlib.__file__).parent / "weights"
    before = sorted(p.name for p in weights.iterdir())
    os.chdir(c.tmp)
    shipped = str(weights / "synthetic_mean.pt")
    err = c.cli("evaluate", "--checkpoint", shipped, "--out", str(weights), "--device", "cpu")
    assert sorted(p.name for p in weights.iterdir()) == before
    default = evaluation_folder(shipped, DataConfig(preset="tiny"))  # where it goes without --out
    assert default.resolve() == (c.tmp / "runs" / "evaluate-synthetic_mean-synthetic-tiny").resolve()
    return err


def collect_after_evaluate(c: Ctx) -> str:
    exp = c.tmp / "exp"
    (exp / "split0").mkdir(parents=True)
    (exp / "split0" / "results.json").write_text(json.dumps({"mean": {"rank1": 1.0}, "checkpoint": "x"}))
    return c.cli("collect", str(exp))


def planted_links_in_a_shared_cache(c: Ctx) -> str:
    """The old predictable temporary names of this process, planted as links to a file outside the cache."""
    gen = load_dataset("synthetic", preset="tiny", seed=0)
    probe = preprocess_dataset(gen, cache_dir=c.tmp / "probe", progress=False).path.name
    victim = c.tmp / "victim.txt"
    victim.write_text("keep me")
    shared = c.tmp / "shared"
    (shared / "preprocess").mkdir(parents=True)
    for suffix in (".npy", ".json"):
        (shared / "preprocess" / f"{probe}.{temp_tag()}{suffix}").symlink_to(victim)
    syn = c.tmp / "syn"
    syn.mkdir()
    outside = c.tmp / "outside"
    outside.mkdir()
    (shared / "preprocess" / f"{probe}.{temp_tag()}").symlink_to(outside)  # a store's temporary folder
    (syn / f"synthetic-{reidlib.data.SyntheticReID(**_tiny_kw()).cache_key()}.{temp_tag()}").symlink_to(outside)
    load_dataset("synthetic", preset="tiny", seed=0, cache_dir=syn)
    preprocess_dataset(gen, cache_dir=shared, progress=False)
    assert victim.read_text() == "keep me" and list(outside.iterdir()) == []
    return "no write followed a link"


def _tiny_kw() -> dict:
    from reidlib.data.synthetic import PRESETS

    return {**PRESETS["tiny"], "seed": 0}


def config_names_a_file(c: Ctx) -> str:
    secret = c.tmp / "shadow"
    secret.write_text(f"root:{SECRET}:19000:0:99999:7:::\n")
    cfg = c.tmp / "cfg.yaml"
    cfg.write_text(f"train: {secret}\n")
    return c.cli("train", "--config", str(cfg), *c.tiny_args(c.tmp / "r"))


def config_is_another_file(c: Ctx) -> str:
    secret = c.tmp / "passwd"
    secret.write_text("".join(f"user{i}:{SECRET}:{i}:{i}::/home:/bin/sh\n" for i in range(20)))
    return c.cli("train", "--config", str(secret), *c.tiny_args(c.tmp / "r"))


def config_out_loses_to_the_command_line(c: Ctx) -> str:
    cfg = c.tmp / "cfg.yaml"
    cfg.write_text(f"out: {c.tmp / 'from-config'}\ndata: {{preset: tiny}}\n")
    c.cli("train", "--config", str(cfg), *c.tiny_args(c.tmp / "from-cli"), code=0)
    assert (c.tmp / "from-cli" / "checkpoint.pt").exists() and not (c.tmp / "from-config").exists()
    return "the command line won"


def billion_laughs(c: Ctx) -> str:
    lines = ["model:", "  head_options:", '    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"    {b}: &{b} [{','.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi", strict=True)]
    cfg = c.tmp / "laughs.yaml"
    cfg.write_text("\n".join(lines) + "\n")
    t0 = time.perf_counter()
    err = c.cli("train", "--config", str(cfg), *c.tiny_args(c.tmp / "r"))
    assert time.perf_counter() - t0 < 5
    return err


def zip_bomb_named_prid(c: Ctx) -> str:
    root = c.tmp / "data"
    root.mkdir()
    with zipfile.ZipFile(root / "prid_2011.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("prid_2011/multi_shot/cam_a/person_0001/0001.png", b"\0" * (50 << 20))
    err = error_of(lambda: dl.prepare("prid2011", root=root, download_ok=False))
    assert sorted(p.name for p in root.iterdir()) == ["prid_2011.zip"]  # nothing left behind
    return err


def tar_declaring_8_gib(c: Ctx) -> str:
    import tarfile

    info = tarfile.TarInfo("i-LIDS-VID/sequences/cam1/person001/x.png")
    info.size = 8 << 30
    path = c.tmp / "iLIDS-VID.tar"
    path.write_bytes(info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024)
    err = error_of(lambda: dl.extract(path, c.tmp / "d"))
    assert not (c.tmp / "d").exists()
    return err


def extraction_fills_the_disk(c: Ctx) -> str:
    """A real size limit (RLIMIT_FSIZE) while extracting: the error names the folder, nothing is left."""
    import subprocess
    import sys

    root = c.tmp / "data"
    root.mkdir()
    with zipfile.ZipFile(root / "prid_2011.zip", "w") as z:
        z.writestr("prid_2011/multi_shot/cam_a/person_0001/0001.png", os.urandom(200_000))
    script = f"""
import resource, signal
from reidlib.data import download
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))
try:
    download.prepare("prid2011", root={str(root)!r}, download_ok=False)
except OSError as e:
    print(e)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert sorted(p.name for p in root.iterdir()) == ["prid_2011.zip"], out.stderr
    return out.stdout.strip()


def flipped_bit_in_a_checkpoint(c: Ctx) -> str:
    path = c.run / "checkpoint.pt"
    with zipfile.ZipFile(path) as z:
        entry = next(i for i in z.infolist() if "/data/" in i.filename and i.file_size > 1000)  # a tensor's bytes
    data = bytearray(path.read_bytes())
    name_len, extra_len = (
        int.from_bytes(data[entry.header_offset + 26 : entry.header_offset + 28], "little"),
        int.from_bytes(data[entry.header_offset + 28 : entry.header_offset + 30], "little"),
    )
    data[entry.header_offset + 30 + name_len + extra_len + 17] ^= 0x04
    path.write_bytes(bytes(data))
    return error_of(lambda: read_checkpoint(path))


def _damaged_cache(c: Ctx, spoil: Callable[[Path], None]) -> str:
    """Build tiny's cache in its own folder, spoil it, load again: a warning names the file, the data served
    are those of a fresh build."""
    ds = load_dataset("synthetic", preset="tiny", seed=0)
    cache = c.tmp / "own-cache"
    fresh = preprocess_dataset(ds, cache_dir=cache, progress=False)
    want = np.asarray(fresh.data).copy()
    spoil(fresh.path)
    msg = warning_of(lambda: preprocess_dataset(ds, cache_dir=cache, progress=False), CacheRebuiltWarning)
    np.testing.assert_array_equal(np.asarray(preprocess_dataset(ds, cache_dir=cache, progress=False).data), want)
    return msg


def _rewrite(path: Path, edit: Callable[[bytearray], None]) -> None:
    data = bytearray(path.read_bytes())
    edit(data)
    path.unlink()  # a new file (new inode), as a faulty copy or an editor would leave
    path.write_bytes(bytes(data))


def zeroed_cache(c: Ctx) -> str:
    def zero(path):
        _rewrite(path / "prepared.npy", lambda b: b.__setitem__(slice(200, None), bytes(len(b) - 200)))

    return _damaged_cache(c, zero)


def shifted_index(c: Ctx) -> str:
    def shift(path):
        index = json.loads((path / "index.json").read_text())
        index["tracklets"][0]["length"] += 1
        index["tracklets"][1]["length"] -= 1
        (path / "index.json").write_text(json.dumps(index))

    return _damaged_cache(c, shift)


def nan_filled_cache(c: Ctx) -> str:
    def nan(path):
        npy = path / "prepared.npy"
        arr = np.load(npy)
        arr[:] = np.nan
        npy.unlink()
        np.save(npy, arr)

    return _damaged_cache(c, nan)


def truncated_cache(c: Ctx) -> str:
    return _damaged_cache(c, lambda path: _rewrite(path / "prepared.npy", lambda b: b.__delitem__(slice(-4096, None))))


def zero_byte_cache(c: Ctx) -> str:
    return _damaged_cache(c, lambda path: _rewrite(path / "prepared.npy", lambda b: b.clear()))


def zeroed_synthetic_cache(c: Ctx) -> str:
    folder = c.tmp / "syn"
    want = [t.frames.copy() for t in load_dataset("synthetic", preset="tiny", seed=0, cache_dir=folder).tracklets]
    (frames,) = folder.glob("synthetic-*/frames.npy")
    _rewrite(frames, lambda b: b.__setitem__(slice(200, None), bytes(len(b) - 200)))
    msg = warning_of(lambda: load_dataset("synthetic", preset="tiny", seed=0, cache_dir=folder), CacheRebuiltWarning)
    got = load_dataset("synthetic", preset="tiny", seed=0, cache_dir=folder).tracklets
    assert all(np.array_equal(t.frames, w) for t, w in zip(got, want, strict=True))
    return msg


def close_features_of_norm_100(c: Ctx) -> str:
    a = torch.full((1, 128), 100 / 128**0.5)
    b = a.repeat(2, 1)
    b[0, 0] += 0.02
    b[1, 0] += 0.03
    d = distance_matrix(a, b)
    assert torch.allclose(d, torch.tensor([[0.02, 0.03]]), rtol=1e-3), d
    return "exact"


def similarities_for_distances(c: Ctx) -> str:
    sim = np.array([[0.9, 0.1], [0.2, 0.8]])
    return error_of(lambda: cmc(sim - 1.0, [0, 1], [0, 1]))


def empty_gallery(c: Ctx) -> str:
    return error_of(lambda: cmc(np.zeros((2, 0)), [0, 1], []))


def string_pids(c: Ctx) -> str:
    return error_of(lambda: cmc(np.zeros((2, 2)), ["ann", "bob"], ["ann", "bob"]))


def mars_fractional_index(c: Ctx) -> str:
    from scipy.io import loadmat, savemat

    from tests.data.test_data_official import fake_mars

    top = fake_mars(c.tmp)
    path = top / "info" / "tracks_train_info.mat"
    m = loadmat(str(path))["track_train_info"].astype(float)
    m[0, 1] += 0.5
    savemat(path, {"track_train_info": m})
    return error_of(lambda: load_dataset("mars", root=c.tmp))


def mars_corrupt_mat(c: Ctx) -> str:
    from tests.data.test_data_official import fake_mars

    top = fake_mars(c.tmp)
    (top / "info" / "query_IDX.mat").write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    return error_of(lambda: load_dataset("mars", root=c.tmp))


def devices_that_do_not_exist(c: Ctx) -> str:
    return c.cli("experiment", *c.tiny_args(c.tmp / "exp", "--devices", "0,1"))


def root_with_synthetic(c: Ctx) -> str:
    return c.cli("train", *c.tiny_args(c.tmp / "r", "--data.root", str(c.tmp)))


def evaluate_without_the_models_flow(c: Ctx) -> str:
    return c.cli("evaluate", "--checkpoint", str(c.run / "checkpoint.pt"), "--data.preset", "tiny", "--splits", "1",
                 "--data.use_flow", "false", "--data.cache_dir", str(c.cache), "--device", "cpu")  # fmt: skip


def wrong_head_option(c: Ctx) -> str:
    return c.cli("train", *c.tiny_args(c.tmp / "r", "--model.head_options", '{"windowz": [5, 3]}'))


def wrong_backbone_option(c: Ctx) -> str:
    return c.cli("train", *c.tiny_args(c.tmp / "r", "--model.backbone_options", '{"widht": 16}'))


def collect_on_broken_json(c: Ctx) -> str:
    (c.tmp / "exp" / "split0").mkdir(parents=True)
    (c.tmp / "exp" / "split0" / "results.json").write_text('{"rank1": 5')
    return c.cli("collect", str(c.tmp / "exp"))


def collect_on_a_list(c: Ctx) -> str:
    (c.tmp / "exp" / "split0").mkdir(parents=True)
    (c.tmp / "exp" / "split0" / "results.json").write_text("[1, 2, 3]")
    return c.cli("collect", str(c.tmp / "exp"))


def _evaluate_splits(c: Ctx, splits: str) -> str:
    return c.cli("evaluate", "--checkpoint", str(c.run / "checkpoint.pt"), "--data.preset", "tiny", "--splits", splits,
                 "--data.cache_dir", str(c.cache), "--device", "cpu", "--out", str(c.tmp / "ev"))  # fmt: skip


def empty_config(c: Ctx) -> str:
    (c.tmp / "empty.yaml").write_text("")
    return c.cli("train", "--config", str(c.tmp / "empty.yaml"), *c.tiny_args(c.tmp / "r"))


def infinite_lr(c: Ctx) -> str:
    (c.tmp / "inf.yaml").write_text("train: {lr: .inf}\n")
    return c.cli("train", "--config", str(c.tmp / "inf.yaml"), *c.tiny_args(c.tmp / "r")[:-2])


def cache_dir_is_a_file(c: Ctx) -> str:
    (c.tmp / "cachefile").write_text("not a folder")
    return c.cli("train", *TINY, "--out", str(c.tmp / "r"), "--data.cache_dir", str(c.tmp / "cachefile"))


def read_only_folder(c: Ctx) -> str:
    return str(write_error(c.tmp / "ro" / "x.npy", PermissionError(errno.EACCES, "Permission denied")))


def one_frame_tracklet(c: Ctx) -> str:
    import cv2

    rng = np.random.default_rng(0)
    for cam in ("cam1", "cam2"):
        for pid in range(1, 5):
            d = c.tmp / "fold" / cam / f"person{pid:03d}"
            d.mkdir(parents=True)
            for i in range(1 if (cam, pid) == ("cam2", 3) else 5):
                cv2.imwrite(str(d / f"{i:04d}.png"), rng.integers(0, 255, (128, 64, 3), dtype=np.uint8))
    ds = load_dataset("folder", root=c.tmp / "fold")
    return error_of(lambda: preprocess_dataset(ds, cache_dir=c.tmp / "c", progress=False))


def weights_with_no_heads(c: Ctx) -> str:
    return c.cli("weights", "--heads=[]", "--out", str(c.tmp / "w"))


def debug_after_the_subcommand(c: Ctx) -> str:
    with pytest.raises(ValueError, match="data.root names the folder"):
        main(["train", *c.tiny_args(c.tmp / "r", "--data.root", "x"), "--debug"])
    return "traceback shown"


def evaluate_on_another_folder_dataset(c: Ctx) -> str:
    """A model trained on one `folder` dataset, tested on another: other people under the same pids."""
    import cv2

    from reidlib.data import SyntheticReID

    for seed, root in ((3, c.tmp / "A"), (4, c.tmp / "B")):
        for t in SyntheticReID(num_ids=8, seq_len=(6, 8), seed=seed).tracklets():
            folder = root / f"cam{t.camid + 1}" / f"person{t.pid:03d}"
            folder.mkdir(parents=True)
            for i, frame in enumerate(t.frames):
                cv2.imwrite(str(folder / f"{i:04d}.png"), np.ascontiguousarray(frame[..., ::-1]))
    cfg = ["--data.dataset", "folder", "--data.root", str(c.tmp / "A"), "--data.cache_dir", str(c.tmp / "c")]
    c.cli("train", *TINY[2:], *cfg, "--out", str(c.tmp / "frun"), code=0)
    ev = ["--data.dataset", "folder", "--data.root", str(c.tmp / "B"), "--data.cache_dir", str(c.tmp / "c")]
    c.cli("evaluate", "--checkpoint", str(c.tmp / "frun" / "checkpoint.pt"), *ev, "--device", "cpu", code=0)
    return "not a leak"


# name -> (what the user does, what the one-line error must say)
CASES: dict[str, tuple[Callable[[Ctx], str], str]] = {
    # data lost
    "refused train keeps config.yaml": (refused_train_keeps_config, r"holds a run of another configuration"),
    "refused experiment keeps config.yaml": (refused_experiment_keeps_config, r"another configuration.*head"),
    "two processes, one folder": (second_process_is_refused, r"in use by another reidlib process \(pid \d+"),
    "--out with user files": (user_folder_is_refused, r"config\.yaml that is not a reidlib run's"),
    "--overwrite keeps other files": (overwrite_keeps_other_files, r"overwritten"),
    "evaluate keeps the run's results": (evaluate_writes_a_new_folder, r"holds no earlier evaluation"),
    "evaluate never into the package": (evaluate_never_writes_into_the_package, r"inside the installed reidlib"),
    "collect after evaluate": (collect_after_evaluate, r"split0/results\.json is not the result of a split's run"),
    # security
    "planted links in a shared cache": (planted_links_in_a_shared_cache, r"no write followed a link"),
    "config names a file": (config_names_a_file, r"the train settings must be a mapping"),
    "--config /etc/passwd": (config_is_another_file, r"passwd holds a str, not a mapping of settings"),
    "config out: vs --out": (config_out_loses_to_the_command_line, r"the command line won"),
    "billion laughs": (billion_laughs, r"expands to more than 10000 values"),
    "zip bomb as prid_2011.zip": (zip_bomb_named_prid, r"times its size.*nothing was written"),
    "tar declaring 8 GiB": (tar_declaring_8_gib, r"iLIDS-VID\.tar is damaged|more than this dataset can hold"),
    "extraction fills the disk": (
        extraction_fills_the_disk,
        r"could not write the contents of prid_2011\.zip .*no room",
    ),
    # silent wrong results
    "one flipped bit in a checkpoint": (flipped_bit_in_a_checkpoint, r"damaged: the bytes of its entry .* CRC-32"),
    "zeroed cache": (zeroed_cache, r"preprocessing cache .* is damaged: prepared\.npy: its CRC-32"),
    "cache index with shifted lengths": (shifted_index, r"is damaged: its index lists other tracklets or lengths"),
    "NaN-filled cache": (nan_filled_cache, r"is damaged: prepared\.npy: its CRC-32"),
    "zeroed synthetic cache": (zeroed_synthetic_cache, r"synthetic frames cache .* damaged: frames\.npy: its CRC-32"),
    "distances at norm 100": (close_features_of_norm_100, r"exact"),
    "negative distances": (similarities_for_distances, r"distmat holds negative values"),
    "MARS non-integer index": (mars_fractional_index, r"tracks_train_info\.mat: track_train_info must hold whole"),
    "--devices on a CPU": (devices_that_do_not_exist, r"--devices 0,1: \['0', '1'\] not usable; this machine has no"),
    "data.root with synthetic": (root_with_synthetic, r"data\.root names the folder of a real dataset"),
    "evaluate --data.use_flow false": (evaluate_without_the_models_flow, r"trained with optical flow"),
    # tracebacks and unclear errors
    "wrong head_options key": (wrong_head_option, r"model\.head_options \['windowz'\] do not fit head 'combined'"),
    "wrong backbone_options key": (wrong_backbone_option, r"backbone_options \['widht'\] are not options"),
    "zero-byte cache": (zero_byte_cache, r"is damaged: prepared\.npy: it has 0 bytes"),
    "truncated cache": (truncated_cache, r"is damaged: prepared\.npy: it has \d+ bytes where its index records"),
    "corrupt MARS .mat": (mars_corrupt_mat, r"Could not read 'query_IDX' from .*query_IDX\.mat"),
    "collect on broken JSON": (collect_on_broken_json, r"split0/results\.json cannot be read as JSON"),
    "collect on a list": (collect_on_a_list, r"split0/results\.json is not the result of a split's run"),
    "evaluate --splits 5-2": (lambda c: _evaluate_splits(c, "5-2"), r"a range goes up"),
    "evaluate --splits 99": (lambda c: _evaluate_splits(c, "99"), r"split\(s\) \[99\] do not exist: .* 10 split"),
    "empty config": (empty_config, r"empty\.yaml is empty"),
    "lr: .inf": (infinite_lr, r"train\.lr: expected a finite number; found inf"),
    "cache_dir is a file": (cache_dir_is_a_file, r"cachefile is a file where a folder is needed"),
    "read-only folder": (read_only_folder, r"may not write there.*Write to a folder you own"),
    "one 1-frame tracklet": (one_frame_tracklet, r"person 3, camera 1 \(1 frame\(s\), frames in .*person003\)"),
    "empty gallery": (empty_gallery, r"the gallery is empty"),
    "string pids": (string_pids, r"query_pids must be integer person ids; found <U3"),
    "weights --heads=[]": (weights_with_no_heads, r"--heads is empty"),
    "--debug after the subcommand": (debug_after_the_subcommand, r"traceback shown"),
    "evaluate on another folder dataset": (evaluate_on_another_folder_dataset, r"not a leak"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name, trained, tmp_path, capsys, monkeypatch):
    run, cache = trained
    shutil.copytree(run, tmp_path / "run")
    monkeypatch.chdir(tmp_path)
    act, expect = CASES[name]
    said = act(Ctx(tmp_path, tmp_path / "run", cache, capsys))
    assert "Traceback" not in said and SECRET not in said, said
    lines = said.strip().splitlines()
    if any(line.startswith("reidlib ") for line in lines):  # the command line's error, after progress bars
        lines = [line for line in lines if line.startswith("reidlib ")]
        assert said.strip().endswith("(--debug shows the traceback)"), said
    assert len(lines) == 1, said  # one line: what was expected, what was found, what to do
    assert re.search(expect, lines[0]), said
