"""The CUDA paths: training with mixed precision, checkpoints that load on a CPU, features equal to the CPU's.

Skipped without a GPU (CI has none); run on a GPU machine with
``python -m pytest tests/training/test_gpu.py``.
"""

import math

import numpy as np
import pytest
import torch

from reidlib.evaluation import evaluate, extract_features
from reidlib.models import VideoReIDNet
from reidlib.training import load_model
from reidlib.training.loop import CHECKPOINT

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
CUDA = torch.device("cuda")


def new_model(ds, head="combined"):
    torch.manual_seed(0)
    return VideoReIDNet(len(ds.splits[0]["train"]), head=head)


@pytest.mark.parametrize("amp", [False, True])
def test_training_on_cuda_lowers_the_loss_and_saves_a_checkpoint_a_cpu_loads(
    tiny, tmp_path, amp, pair_loss, demo_train
):
    ds, data = tiny
    model = new_model(ds).to(CUDA)
    before = pair_loss(model, ds, data)
    history = demo_train(
        model,
        ds,
        data,
        out_dir=tmp_path,
        epochs=4,
        batch_size=4,
        window=8,
        amp=amp,
        val_every=1,
        validate=lambda m: evaluate(m, ds, 0, data=data)["rank1"],
    )
    assert all(math.isfinite(v) for v in history["loss"]) and len(history["val_rank1"]) == 4
    assert next(model.parameters()).device.type == CUDA.type  # training leaves the model where it was
    assert pair_loss(model, ds, data) < 0.9 * before
    on_cpu, _ = load_model(tmp_path / CHECKPOINT, "cpu")
    for name, value in model.state_dict().items():
        torch.testing.assert_close(on_cpu.state_dict()[name], value.cpu(), rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("head", ["combined", "mean", "rnn_attention"])
def test_cuda_features_and_scores_equal_the_cpu_ones(tiny, head):
    ds, data = tiny
    model = new_model(ds, head)
    tracklets = ds.split(0)[1] + ds.split(0)[2]
    cpu_f, cpu_s = extract_features(model, tracklets, data, chunk=5, flip=True)
    gpu_f, gpu_s = extract_features(model.to(CUDA), tracklets, data, chunk=5, flip=True)
    assert gpu_f.device.type == "cpu"  # features come back on the cpu, as documented
    torch.testing.assert_close(gpu_f, cpu_f, rtol=1e-2, atol=1e-3)  # cuDNN convolutions use TF32
    for a, b in zip(gpu_s, cpu_s, strict=True):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a.cpu().numpy(), b.numpy(), rtol=1e-2, atol=1e-3)


def test_long_sequence_in_chunks_equals_one_pass_on_cuda(tiny):
    ds, data = tiny
    model = new_model(ds).to(CUDA)
    tracklets = ds.split(0)[1]
    whole, _ = extract_features(model, tracklets, data, chunk=10_000)
    chunked, _ = extract_features(model, tracklets, data, chunk=3)
    torch.testing.assert_close(chunked, whole, rtol=1e-4, atol=1e-5)


def test_a_compiled_step_reaches_the_weights_of_eager_training(tiny, demo_train):
    """compile=True (CUDA graphs via torch.compile's reduce-overhead mode) trains like eager: after k
    steps the weights agree within float tolerance (no dropout, so both runs do the same arithmetic)."""
    ds, data = tiny
    runs = {}
    for compiled in (False, True):
        torch.manual_seed(0)
        model = VideoReIDNet(len(ds.splits[0]["train"]), dropout=0.0).to(CUDA)
        demo_train(
            model,
            ds,
            data,
            epochs=3,
            batch_size=4,
            window=8,
            val_every=0,
            compile=compiled,
        )
        runs[compiled] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    for k, v in runs[False].items():
        torch.testing.assert_close(runs[True][k], v, rtol=1e-3, atol=1e-4, msg=k)
