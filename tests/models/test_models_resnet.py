"""The ResNet-18 frame backbone: shapes, torchvision-compatible names, loading weights, VideoReIDNet's option."""

import urllib.error

import pytest
import torch

from reidlib.models import BasicBlock, FrameCNN, ResNet18Frames, VideoReIDNet, load_imagenet_weights
from reidlib.training import build_model, load_model, model_config, save_checkpoint


def torchvision_resnet18_shapes() -> dict[str, tuple]:
    """torchvision's resnet18 state dict, name -> shape, written out from its published architecture."""
    shapes = {"conv1.weight": (64, 3, 7, 7), "fc.weight": (1000, 512), "fc.bias": (1000,)}

    def bn(name, c):
        shapes.update({f"{name}.{k}": (c,) for k in ("weight", "bias", "running_mean", "running_var")})
        shapes[f"{name}.num_batches_tracked"] = ()

    bn("bn1", 64)
    c_in = 64
    for stage, c in enumerate((64, 128, 256, 512), start=1):
        for block in (0, 1):
            p = f"layer{stage}.{block}"
            shapes[f"{p}.conv1.weight"] = (c, c_in if block == 0 else c, 3, 3)
            shapes[f"{p}.conv2.weight"] = (c, c, 3, 3)
            bn(f"{p}.bn1", c)
            bn(f"{p}.bn2", c)
            if block == 0 and stage > 1:
                shapes[f"{p}.downsample.0.weight"] = (c, c_in, 1, 1)
                bn(f"{p}.downsample.1", c)
        c_in = c
    return shapes


def test_shapes_and_the_size_of_the_last_stage():
    m = ResNet18Frames(width=16).eval()
    assert m(torch.randn(2, 3, 5, 56, 40)).shape == (2, 3, 128)
    assert m(torch.randn(6, 5, 56, 40)).shape == (6, 128)
    assert ResNet18Frames(3, 64, width=8).eval()(torch.randn(4, 3, 56, 40)).shape == (4, 64)
    seen = []
    for stride, want in ((1, (7, 5)), (2, (4, 3))):
        m = ResNet18Frames(width=8, stem_stride=stride).eval()
        m.layer4.register_forward_hook(lambda mod, args, out: seen.append(tuple(out.shape[-2:])))
        m(torch.randn(1, 5, 56, 40))
        assert seen[-1] == want  # 56 x 40 halved 3 (or 4) times, rounding up: never 1 pixel
    with pytest.raises(ValueError, match=r"\(B\*T, 5, 56, 40\); found \(2, 5, 64, 48\)"):
        m(torch.randn(2, 5, 64, 48))


def test_names_and_shapes_follow_torchvision():
    ours = {k: tuple(v.shape) for k, v in ResNet18Frames(in_channels=3).state_dict().items()}
    theirs = torchvision_resnet18_shapes()
    assert set(ours) == set(theirs)
    assert {k for k in ours if ours[k] != theirs[k]} == {"conv1.weight", "fc.weight", "fc.bias"}  # stem and head


def test_a_block_is_a_residual():
    torch.manual_seed(0)
    for block, x in ((BasicBlock(8, 8), torch.randn(2, 8, 6, 4)), (BasicBlock(8, 16, 2), torch.randn(2, 8, 6, 4))):
        block.eval()
        torch.nn.init.zeros_(block.bn2.weight)  # the residual branch then outputs bn2.bias = 0
        want = torch.relu(x if block.downsample is None else block.downsample(x))
        torch.testing.assert_close(block(x), want)
        assert block(x).shape == want.shape


@pytest.mark.slow
def test_imagenet_weights_load_where_names_and_shapes_match():
    torch.manual_seed(1)
    weights = {k: torch.randn(s) if s else torch.tensor(7) for k, s in torchvision_resnet18_shapes().items()}
    model = ResNet18Frames(in_channels=5)
    stem_before = model.conv1.weight.clone()
    report = load_imagenet_weights(model, weights)
    assert set(report["skipped"]) == {"conv1.weight", "fc.weight", "fc.bias"}
    assert report["skipped"]["conv1.weight"] == "shape (64, 3, 7, 7) there, (64, 5, 3, 3) here"
    state = model.state_dict()
    assert len(report["loaded"]) == len(state) - 3
    for k in report["loaded"]:
        assert torch.equal(state[k], weights[k].to(state[k].dtype)), k
    assert torch.equal(model.conv1.weight, stem_before)
    with pytest.raises(ValueError, match="None of the .* tensors of the model fits"):
        load_imagenet_weights(ResNet18Frames(width=16), weights)
    with pytest.raises(TypeError, match="pass its .cnn"):
        load_imagenet_weights(VideoReIDNet(3, backbone="resnet18"), weights)


def test_offline_download_is_explained(monkeypatch):
    def offline(url, **kw):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(ConnectionError, match=r"(?s)Could not download .*resnet18-f37072fd.pth.*checkpoints/"):
        load_imagenet_weights(ResNet18Frames(width=8))


def test_video_model_with_either_backbone(tmp_path):
    torch.manual_seed(0)
    default = VideoReIDNet(4)
    torch.manual_seed(0)
    paper = FrameCNN(5, 128, 0.6)  # the default builds the paper's CNN first, from the same random numbers
    assert type(default.cnn) is FrameCNN and "backbone" not in model_config(default)
    for k, v in paper.state_dict().items():
        assert torch.equal(default.state_dict()[f"cnn.{k}"], v)
    torch.manual_seed(0)
    net = VideoReIDNet(4, backbone="resnet18", backbone_kw={"width": 8}, in_channels=3).eval()
    x, mask = torch.randn(2, 5, 3, 56, 40), torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    f, _ = net(x, mask)
    assert f.shape == (2, 128)
    f0, _ = net(x[:1, :3])  # the padding of sequence 0 changes nothing
    torch.testing.assert_close(f[0], f0[0], rtol=1e-5, atol=1e-6)
    cfg = model_config(net)
    assert cfg["backbone"] == "resnet18" and cfg["backbone_kw"] == {"width": 8}
    assert type(build_model(cfg).cnn) is ResNet18Frames
    save_checkpoint(tmp_path / "c.pt", net)
    again, _ = load_model(tmp_path / "c.pt")
    torch.testing.assert_close(again(x, mask)[0], f)
    with pytest.raises(ValueError, match="Unknown backbone 'vit'; choose one of paper, resnet18"):
        VideoReIDNet(4, backbone="vit")


@pytest.mark.slow
def test_experiments_start_from_imagenet_weights_when_asked(monkeypatch, tmp_path):
    """ModelConfig(imagenet=True): the experiment's initial model copies the weights that fit (downloaded
    by torch.hub: replaced here by a fabricated torchvision state dict, so the test runs offline)."""
    from reidlib.data import load_dataset
    from reidlib.experiments import ExperimentConfig, ModelConfig
    from reidlib.experiments.run import initial_model

    torch.manual_seed(2)
    weights = {k: torch.randn(s) if s else torch.tensor(3) for k, s in torchvision_resnet18_shapes().items()}
    calls = []
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda url, **kw: calls.append(url) or weights)
    ds = load_dataset("synthetic", preset="tiny", seed=0)
    model = ModelConfig(head="mean", backbone="resnet18", imagenet=True)
    net = initial_model(ExperimentConfig(model=model), ds, 0)
    assert len(calls) == 1 and calls[0].endswith("resnet18-f37072fd.pth")
    assert torch.equal(net.cnn.layer3[1].conv2.weight, weights["layer3.1.conv2.weight"])
    scratch = initial_model(ExperimentConfig(model=ModelConfig(head="mean", backbone="resnet18")), ds, 0)
    assert torch.equal(net.cnn.conv1.weight, scratch.cnn.conv1.weight)  # the 5-channel stem: the same random draw
    assert not torch.equal(net.cnn.layer3[1].conv2.weight, scratch.cnn.layer3[1].conv2.weight)
    assert "imagenet" not in model_config(net)  # a checkpoint rebuilds the network without downloading
    with pytest.raises(ValueError, match=r"imagenet=True starts a ResNet-18 .* the backbone is 'paper'"):
        ModelConfig(imagenet=True)
    with pytest.raises(ValueError, match="None of the .* tensors of the model fits"):
        initial_model(
            ExperimentConfig(model=ModelConfig(backbone="resnet18", backbone_options={"width": 8}, imagenet=True)),
            ds,
            0,
        )
