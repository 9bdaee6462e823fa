import subprocess
import sys

import numpy as np
import pytest
import torch

import reidlib
from reidlib.exercises import CheckFailed, check_rank_gallery


@pytest.mark.parametrize("value", ["quick", "cpu", "full", " QUICK "])
def test_profile_reads_environment(monkeypatch, value):
    monkeypatch.setenv("REIDLIB_PROFILE", value)
    assert reidlib.profile() == value.strip().lower()


def test_profile_default_follows_hardware(monkeypatch):
    monkeypatch.delenv("REIDLIB_PROFILE", raising=False)
    assert reidlib.profile() == ("full" if torch.cuda.is_available() else "cpu")


def test_profile_rejects_unknown_name(monkeypatch):
    monkeypatch.setenv("REIDLIB_PROFILE", "fast")
    with pytest.raises(ValueError, match="quick, cpu, full.*'fast'"):
        reidlib.profile()


def test_pick_selects_the_profile_value(monkeypatch):
    for name, want in [("quick", 1), ("cpu", 2), ("full", 3)]:
        monkeypatch.setenv("REIDLIB_PROFILE", name)
        assert reidlib.pick(quick=1, cpu=2, full=3) == want


def test_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert reidlib.device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert reidlib.device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert reidlib.device().type == "cpu"


def gpus(monkeypatch, count):
    """Pretend that torch sees ``count`` CUDA GPUs."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def test_a_device_that_is_not_there_is_explained_up_front(monkeypatch):
    from reidlib.training.distributed import rank_device

    gpus(monkeypatch, 0)
    for name in ("cuda", "cuda:0"):  # rank_device("cuda") raised ZeroDivisionError
        with pytest.raises(ValueError, match=rf"device '{name}' asks for a CUDA GPU, but torch .* sees none.*'cpu'"):
            rank_device(name)
    with pytest.raises(ValueError, match="device must be cpu, cuda, cuda:N or mps; found 'gpu'"):
        reidlib.device("gpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device 'mps' asks for Apple's MPS"):
        reidlib.device("mps")
    gpus(monkeypatch, 2)
    with pytest.raises(ValueError, match=r"asks for GPU 2, but this machine has 2 \(cuda:0 .. cuda:1\)"):
        reidlib.device("cuda:2")


def test_devices_that_are_there_are_given_back(monkeypatch):
    from reidlib.training.distributed import rank_device

    assert reidlib.device("cpu") == torch.device("cpu") == rank_device(torch.device("cpu"))
    gpus(monkeypatch, 2)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert rank_device("cuda") == torch.device("cuda", 1)  # rank 3 of a node with 2 GPUs
    assert rank_device("cuda:0") == torch.device("cuda", 0)


@pytest.mark.slow
def test_cli_info_runs():
    out = subprocess.run([sys.executable, "-m", "reidlib", "info"], capture_output=True, text=True, check=True)
    assert f"reidlib {reidlib.__version__}" in out.stdout


def test_check_rank_gallery_accepts_a_right_answer(capsys):
    assert check_rank_gallery(lambda q, g: np.argsort(np.linalg.norm(g - q, axis=1)))
    assert "correct" in capsys.readouterr().out


def test_check_rank_gallery_explains_a_wrong_answer():
    farthest_first = lambda q, g: np.argsort(-np.linalg.norm(g - q, axis=1))
    with pytest.raises(CheckFailed, match=r"(?s)expected: \[1, 2, 0\].*returned: \[0, 2, 1\]"):
        check_rank_gallery(farthest_first)


def test_check_reports_a_stub_without_crashing():
    def stub(q, g):
        raise NotImplementedError("sort the gallery by distance")

    with pytest.raises(CheckFailed, match="not implemented yet. sort the gallery"):
        check_rank_gallery(stub)


def test_check_pairwise_distances_both_sides(capsys):
    from reidlib.exercises import check_pairwise_distances

    assert check_pairwise_distances(lambda a, b: np.linalg.norm(a[:, None] - b[None], axis=-1))
    assert "correct" in capsys.readouterr().out
    squared = lambda a, b: (np.linalg.norm(a[:, None] - b[None], axis=-1)) ** 2  # forgot the root
    with pytest.raises(CheckFailed, match=r"(?s)expected: \[\[5\.0, 1\.4142\].*returned: \[\[25\.0, 2\.0\]"):
        check_pairwise_distances(squared)
    with pytest.raises(CheckFailed, match=r"(?s)shape \(2, 2\).*shape \(2,\)"):
        check_pairwise_distances(lambda a, b: np.linalg.norm(a - b, axis=-1))
