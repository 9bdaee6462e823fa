"""Checkpoint files: nothing in them runs on load, damaged ones are explained, failed writes leave no trace."""

import errno
import pickle
import random
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
import torch

from reidlib._io import HOST, atomic_write_text
from reidlib.models import VideoReIDNet
from reidlib.models.checkpoint_file import FORMAT
from reidlib.training import checkpoint as ckpt_mod
from reidlib.training import load_checkpoint, load_model, read_checkpoint, save_checkpoint
from reidlib.training.checkpoint import clean_stale_temps, rng_state, set_rng_state


def small_model():
    torch.manual_seed(0)
    return VideoReIDNet(3, head="mean")


def training_checkpoint(path):
    model = small_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [3], 0.1)
    return save_checkpoint(path, model, opt, sched, epoch=2, history={"loss": [1.5, 1.2]}, config={"lr": 0.1})


def draws():
    return random.random(), float(np.random.standard_normal()), float(np.random.random()), torch.rand(3).tolist()


# ------------------------------------------------------------------ nothing runs on load
def test_a_training_checkpoint_holds_only_tensors_and_plain_values(tmp_path):
    path = training_checkpoint(tmp_path / "c.pt")
    ckpt = torch.load(path, weights_only=True)  # raised UnpicklingError when numpy's state was pickled
    assert ckpt["epoch"] == 2 and "optimizer" in ckpt and "scheduler" in ckpt


def test_rng_states_survive_a_weights_only_round_trip(tmp_path):
    random.seed(1)
    np.random.seed(2)
    np.random.standard_normal()  # leaves a cached Gaussian in numpy's state (has_gauss = 1)
    torch.manual_seed(3)
    state = rng_state()
    want = draws()
    torch.save(state, tmp_path / "rng.pt")
    random.seed(99), np.random.seed(99), torch.manual_seed(99)
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert draws() == want


class Payload:
    """Unpickling this object writes a marker file: what a crafted checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('ran')",)


def crafted_files(tmp_path):
    """A torch zip checkpoint and a bare pickle, both tagged as reidlib checkpoints, both with the payload."""
    marker = tmp_path / "marker"
    tagged = dict(format=FORMAT, format_version=1, model_config={}, model={"w": Payload(marker)})
    torch.save(tagged, tmp_path / "crafted.pt")
    (tmp_path / "crafted.pkl").write_bytes(pickle.dumps(tagged))
    return marker, [tmp_path / "crafted.pt", tmp_path / "crafted.pkl"]


def test_the_crafted_payload_is_live(tmp_path):
    """The control: the files below do run their code when unpickled the unsafe way."""
    marker, (zipped, bare) = crafted_files(tmp_path)
    torch.load(zipped, weights_only=False)
    assert marker.read_text() == "ran"
    marker.unlink()
    pickle.loads(bare.read_bytes())
    assert marker.read_text() == "ran"


@pytest.mark.parametrize(
    "loader",
    [read_checkpoint, lambda p: load_checkpoint(p, small_model()), load_model],
    ids=["read_checkpoint", "load_checkpoint", "load_model"],
)
def test_a_crafted_checkpoint_runs_nothing(tmp_path, loader):
    marker, (zipped, bare) = crafted_files(tmp_path)
    with pytest.raises(ValueError, match=r"crafted\.pt holds Python objects .*it refers to exec.*nothing in it"):
        loader(zipped)
    with pytest.raises(ValueError, match=r"crafted\.pkl is not a checkpoint.*a pickle of Python objects.*not read"):
        loader(bare)
    assert not marker.exists()


# ------------------------------------------------------------------ damaged files
def test_damaged_and_foreign_files_are_explained(tmp_path):
    good = training_checkpoint(tmp_path / "good.pt").read_bytes()
    cases = {
        "truncated.pt": (good[: len(good) // 2], "truncated"),
        "text.pt": (b"hello world\n", r"found 12 bytes starting with b'hello wo'"),
        "empty.pt": (b"", "found an empty file"),
    }
    for name, (data, found) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(
            ValueError, match=rf"(?s){name} is not a checkpoint: expected a zip archive.*{found}.*again"
        ):
            read_checkpoint(tmp_path / name)
    # a zip whose tensor data are corrupt: torch's reader fails
    with zipfile.ZipFile(tmp_path / "good.pt") as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    with zipfile.ZipFile(tmp_path / "corrupt.pt", "w") as z:
        for name, data in entries.items():
            z.writestr(name, data[:-8] if name.endswith("data.pkl") else data)
    with pytest.raises(ValueError, match=r"corrupt\.pt is damaged: torch could not read it .*again"):
        read_checkpoint(tmp_path / "corrupt.pt")


@pytest.mark.parametrize("drop", ["format_version", "model"])
def test_a_tagged_dict_without_its_parts_is_explained(tmp_path, drop):
    ckpt = torch.load(training_checkpoint(tmp_path / "c.pt"), weights_only=True)
    del ckpt[drop]
    torch.save(ckpt, tmp_path / "partial.pt")
    with pytest.raises(
        ValueError, match=rf"partial\.pt is tagged .* incomplete.*missing \['{drop}'\].*save_checkpoint"
    ):
        load_model(tmp_path / "partial.pt")


# ------------------------------------------------------------------ failed writes
@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598"),
    ],
    ids=["ENOSPC", "torch-writer"],
)
def test_a_full_disk_while_saving_keeps_the_old_checkpoint(tmp_path, monkeypatch, error):
    path = training_checkpoint(tmp_path / "checkpoint.pt")
    good = path.read_bytes()

    def disk_fills_up(obj, f):
        f.write(b"the first bytes")
        raise error

    monkeypatch.setattr(ckpt_mod.torch, "save", disk_fills_up)
    with pytest.raises(
        OSError, match=r"could not write the checkpoint .*checkpoint\.pt: no room to write.*Nothing was replaced"
    ):
        save_checkpoint(path, small_model(), epoch=3)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="file size limits are POSIX")
def test_a_real_write_limit_gives_the_clear_error(tmp_path):
    """torch.save past RLIMIT_FSIZE fails inside torch's zip writer, as on a full disk."""
    script = f"""
import resource, signal, torch
from reidlib.models import VideoReIDNet
from reidlib.training import save_checkpoint
model = VideoReIDNet(3, head="mean")
save_checkpoint({str(tmp_path / "checkpoint.pt")!r}, model, epoch=1)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4_000_000, 4_000_000))
try:
    save_checkpoint({str(tmp_path / "checkpoint.pt")!r}, model, epoch=2, blob=torch.zeros(2_000_000))
except OSError as e:
    print("OSError:", e)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "OSError: [Errno" in out.stdout and "Nothing was replaced" in out.stdout, out.stdout + out.stderr
    assert read_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_atomic_write_text_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    path = atomic_write_text(tmp_path / "history.json", '{"loss": [1.0]}')
    assert path.read_text() == '{"loss": [1.0]}' and oct(path.stat().st_mode & 0o777) == "0o644"

    def fsync_fails(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("reidlib._io.os.fsync", fsync_fails)
    with pytest.raises(OSError, match=r"could not write the file .*history\.json: no room to write: the disk is full"):
        atomic_write_text(path, '{"loss": [1.0, 0.5]}')
    assert path.read_text() == '{"loss": [1.0]}'
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_clean_stale_temps_removes_only_the_leftovers_of_ended_writers(tmp_path, ended_pid, running_pid):
    names = {
        "dead": f".checkpoint.pt.tmp{ended_pid}-{HOST}.ab12cd34.tmp",
        "legacy": ".history.json.k3j4h5g6.tmp",  # reidlib before tags
        "alive": f".checkpoint.pt.tmp{running_pid}-{HOST}.zz99yy88.tmp",
        "elsewhere": f".checkpoint.pt.tmp{ended_pid}-someothermachine.ab12cd34.tmp",
        "unrelated": ".notes.tmp",
        "checkpoint": "checkpoint.pt",
    }
    for name in names.values():
        (tmp_path / name).write_text("x")
    removed = clean_stale_temps(tmp_path)
    assert sorted(p.name for p in removed) == sorted([names["dead"], names["legacy"]])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        names[k] for k in ("alive", "elsewhere", "unrelated", "checkpoint")
    )


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 is POSIX")
def test_a_writer_killed_mid_save_leaves_a_temp_that_the_next_start_removes(tmp_path):
    script = f"""
import time, torch
from reidlib.models import VideoReIDNet
from reidlib.training import checkpoint
def slow(obj, f):
    f.write(b"half a checkpoint"); f.flush(); time.sleep(120)
checkpoint.torch.save = slow
checkpoint.save_checkpoint({str(tmp_path / "checkpoint.pt")!r}, VideoReIDNet(3, head="mean"), epoch=1)
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 60
        while not list(tmp_path.glob(".checkpoint.pt.*.tmp")) and time.time() < deadline:
            time.sleep(0.1)
        assert clean_stale_temps(tmp_path) == []  # the writer is still running: keep its file
    finally:
        proc.kill()
        proc.wait()
    (left,) = tmp_path.glob(".checkpoint.pt.*.tmp")
    assert f".tmp{proc.pid}-" in left.name
    assert clean_stale_temps(tmp_path) == [left] and not left.exists()


def test_a_checkpoint_of_format_1_with_numpy_rng_state_is_explained(tmp_path):
    old = dict(format=FORMAT, format_version=1, model_config={}, model={}, rng={"numpy": np.random.get_state()})
    torch.save(old, tmp_path / "old.pt")
    with pytest.raises(ValueError, match=r"old\.pt holds .*refers to numpy\..*before checkpoint format 2"):
        read_checkpoint(tmp_path / "old.pt")


def test_values_that_would_not_load_are_refused_when_saving(tmp_path):
    model = small_model()
    for extra, where in (
        (dict(epoch=np.int64(3)), "epoch is a numpy.int64"),
        (dict(history={"loss": [1.0, np.float64(0.5)]}), r"history\['loss'\]\[1\] is a numpy.float64"),
        (dict(config={"size": np.array([1, 2])}), r"config\['size'\] is a numpy.ndarray"),
    ):
        with pytest.raises(TypeError, match=rf"checkpoint field {where} .*Convert it before saving"):
            save_checkpoint(tmp_path / "c.pt", model, **extra)
    assert list(tmp_path.iterdir()) == []
    saved = save_checkpoint(tmp_path / "c.pt", model, epoch=3, history={"loss": [1.0, 0.5]}, pids=(1, 2))
    assert read_checkpoint(saved)["pids"] == (1, 2)
