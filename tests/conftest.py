import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # lets tests import tools/ (not part of the package)
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="module")
def tiny_dataset():
    """The synthetic `tiny` dataset (8 persons, seed 0), frames rendered in memory."""
    from reidlib.data import load_dataset

    return load_dataset("synthetic", preset="tiny", seed=0)


@pytest.fixture(scope="module")
def tiny(tiny_dataset, tmp_path_factory):
    """(``tiny_dataset``, its preprocessed frames), cached in a temporary folder: what ``train`` and
    ``evaluate`` read."""
    from reidlib.preprocess import preprocess_dataset

    return tiny_dataset, preprocess_dataset(tiny_dataset, cache_dir=tmp_path_factory.mktemp("cache"), progress=False)


def _pair_loss(model, ds, data) -> float:
    """Mean Eq. 4 loss over the pairs of epoch 0 of split 0, in eval mode (no dropout) on the model's device:
    a fixed yardstick for "training lowered the loss"."""
    import torch

    from reidlib.losses import siamese_loss
    from reidlib.training import PairSampler
    from reidlib.training.recipes import SiameseRecipe

    pairs = PairSampler(ds.split(0)[0], seed=0).epoch(0)
    model.eval()
    with torch.no_grad():
        x, mask, same, labels, _ = SiameseRecipe.collate(pairs, data).to(next(model.parameters()).device)
        f, raw, _ = model.encode(x, mask)
        b = len(pairs)
        loss, _ = siamese_loss(
            f[:b], f[b:], same, model.identity_logits(raw[:b]), model.identity_logits(raw[b:]), labels[:b], labels[b:]
        )
    return float(loss)


@pytest.fixture
def pair_loss():
    """``pair_loss(model, ds, data)`` -> the fixed-pairs loss of :func:`_pair_loss`."""
    return _pair_loss


@pytest.fixture
def ended_pid():
    """The id of a process that has ended (for the leftovers of killed writers)."""
    import subprocess

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture
def running_pid():
    """The id of a process that runs until the test ends (for the files of a writer still at work)."""
    import subprocess

    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield p.pid
    p.kill()
    p.wait()
