"""reidlib.models: shapes, masking, pooling algebra, gradients, and hand-counted sizes."""

import pytest
import torch
import torch.nn.functional as F

from reidlib.models import (
    HEADS,
    AttentionPool,
    FCNTemporalAttention,
    FrameCNN,
    MaxPool,
    MeanPool,
    OraclePool,
    RNNTemporalAttention,
    Upsample1d,
    VideoReIDNet,
    count_macs,
    init_interpolation_,
    interp_kernel,
    make_head,
    pad_sequences,
)

NS = [1, 2, 3, 7, 16, 33, 100, 257]
torch.set_num_threads(1)


def _padded(lengths, d=16, seed=0, extra=3):
    """Random sequences, padded with large garbage (a leak would show) to max + extra frames."""
    g = torch.Generator().manual_seed(seed)
    seqs = [torch.randn(n, d, generator=g) for n in lengths]
    x, mask = pad_sequences(seqs)
    x = torch.cat([x, torch.zeros(len(lengths), extra, d)], 1)
    mask = torch.cat([mask, torch.zeros(len(lengths), extra, dtype=torch.bool)], 1)
    x = torch.where(mask[..., None], x, 100 * torch.randn(x.shape, generator=g))
    return seqs, x, mask


# ---------------------------------------------------------------- frame CNN
def test_frame_cnn_parameter_count_matches_hand_count():
    # conv 5x5: in * out * 25 + out;  linear 2560 -> 128
    hand = (5 * 16 * 25 + 16) + (16 * 32 * 25 + 32) + (32 * 32 * 25 + 32) + (2560 * 128 + 128)
    assert sum(p.numel() for p in FrameCNN().parameters()) == hand == 368288
    assert FrameCNN().flat_dim == 32 * 10 * 8


def test_frame_cnn_macs_match_hand_count():
    # output pixels x out channels x in channels x 25, per stage: 60x44, 34x26, 21x17 outputs
    hand = 60 * 44 * 16 * 5 * 25 + 34 * 26 * 32 * 16 * 25 + 21 * 17 * 32 * 32 * 25 + 2560 * 128
    assert count_macs(FrameCNN(), torch.zeros(1, 5, 56, 40)) == hand


def test_frame_cnn_equals_the_papers_layer_order():
    """conv -> tanh -> max-pool, three times, then the linear layer (eval mode: no dropout)."""
    cnn = FrameCNN().eval()
    x = torch.randn(6, 5, 56, 40)
    h = x
    for conv in cnn.convs:
        h = F.max_pool2d(torch.tanh(F.conv2d(h, conv.weight, conv.bias, padding=4)), 2)
    torch.testing.assert_close(cnn(x), h.flatten(1) @ cnn.fc.weight.T + cnn.fc.bias, atol=1e-5, rtol=1e-5)
    assert h.shape == (6, 32, 10, 8)


@pytest.mark.parametrize("channels", [5, 3])
def test_frame_cnn_accepts_both_layouts(channels):
    cnn = FrameCNN(in_channels=channels).eval()
    x = torch.randn(2, 3, channels, 56, 40)
    z = cnn(x)
    assert z.shape == (2, 3, 128)
    torch.testing.assert_close(cnn(x.reshape(6, channels, 56, 40)), z.reshape(6, 128))


def test_frame_cnn_rejects_wrong_size_with_advice():
    with pytest.raises(ValueError, match=r"\(B, T, 5, 56, 40\).*found \(2, 5, 64, 48\).*crop"):
        FrameCNN()(torch.randn(2, 5, 64, 48))


# ---------------------------------------------------------------- FCN attention
@pytest.mark.parametrize("variant", ["32s", "16s", "8s"])
def test_fcn_shapes_for_every_length(variant):
    fcn = FCNTemporalAttention(feature_dim=16, variant=variant)
    for n in NS:
        for b in (1, 3):
            s = fcn(torch.randn(b, n, 16))
            assert s.shape == (b, n)
            assert bool(((s > 0) & (s < 1)).all())


@pytest.mark.parametrize(
    "kw",
    [
        dict(variant="32s"),
        dict(variant="16s"),
        dict(variant="8s"),
        dict(windows=(5, 3, 3), variant="8s"),
        dict(windows=(7,)),
        dict(activation="softmax"),
    ],
)
def test_fcn_padded_batch_equals_each_sequence_alone(kw):
    torch.manual_seed(0)
    fcn = FCNTemporalAttention(feature_dim=16, **kw)
    lengths = [1, 2, 3, 7, 16, 33, 40]
    seqs, x, mask = _padded(lengths)
    batch = fcn(x, mask)
    assert bool((batch[~mask] == 0).all())
    for i, z in enumerate(seqs):
        alone = fcn(z[None])[0]
        torch.testing.assert_close(batch[i, : len(z)], alone, atol=1e-5, rtol=1e-5)


def test_fcn_32s_equals_a_plain_reference_at_initialisation():
    """conv -> ReLU -> max-pool (ceil mode) twice, 1x1 score, linear interpolation x4 (clamped edges), sigmoid."""
    torch.manual_seed(0)
    fcn = FCNTemporalAttention(feature_dim=16)
    for n in NS:
        z = torch.randn(n, 16)
        x = z.T[None]  # (1, D, N)
        for conv in fcn.convs:
            x = F.max_pool1d(F.relu(F.conv1d(x, conv.weight, conv.bias, padding=conv.padding)), 2, ceil_mode=True)
        s = F.conv1d(x, fcn.score.weight, fcn.score.bias)  # (1, 1, ceil(N / 4))
        want = torch.sigmoid(F.interpolate(s, scale_factor=4, mode="linear", align_corners=False)[0, 0, :n])
        torch.testing.assert_close(fcn(z[None])[0], want, atol=1e-5, rtol=1e-5)


def test_softmax_scores_sum_to_one_over_real_frames():
    seqs, x, mask = _padded([3, 9], d=8)
    s = FCNTemporalAttention(feature_dim=8, activation="softmax")(x, mask)
    torch.testing.assert_close(s.sum(1), torch.ones(2))


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_upsample_starts_as_linear_interpolation(factor):
    coarse = torch.randn(2, 1, 5)
    want = F.interpolate(coarse, scale_factor=factor, mode="linear", align_corners=False)  # (2, 1, 5f)
    got = Upsample1d(1, factor)(coarse, torch.tensor([5, 5]), 5 * factor - 1)
    torch.testing.assert_close(got, want[..., : 5 * factor - 1])


def test_interpolation_init_is_bilinear_in_2d():
    f = 4
    deconv = init_interpolation_(torch.nn.ConvTranspose2d(3, 3, 2 * f, stride=f, bias=False))
    x = torch.randn(1, 3, 4, 6)
    y = deconv(F.pad(x, (1, 1, 1, 1), mode="replicate"))[..., 3 * f // 2 :, 3 * f // 2 :][..., : 4 * f, : 6 * f]
    torch.testing.assert_close(y, F.interpolate(x, scale_factor=f, mode="bilinear", align_corners=False))
    torch.testing.assert_close(interp_kernel(f, 2), interp_kernel(f)[:, None] * interp_kernel(f)[None])


def test_fcn_rejects_bad_configuration_and_masks():
    with pytest.raises(ValueError, match="odd window"):
        FCNTemporalAttention(windows=(4, 3))
    with pytest.raises(ValueError, match="needs at least 2 pooling stages.*windows=\\(5, 3, 3\\)"):
        FCNTemporalAttention(windows=(5,), variant="8s")
    fcn = FCNTemporalAttention(feature_dim=8)
    with pytest.raises(ValueError, match="bool mask"):  # shapes and dtypes: checked by every module
        fcn(torch.randn(1, 4, 8), torch.ones(1, 4))
    # mask values: checked once per batch, by the network (the heads and scorers never read them)
    net = VideoReIDNet(num_classes=3).eval()
    x = torch.randn(2, 4, 5, 56, 40)
    with pytest.raises(ValueError, match="right-padded"):
        net(x, torch.tensor([[True, False, True, False], [True] * 4]))
    with pytest.raises(ValueError, match="no real frame"):
        net(x, torch.tensor([[True] * 4, [False] * 4]))
    with pytest.raises(ValueError, match=r"\(B, N, D\).*unsqueeze"):
        fcn(torch.randn(4, 8))


# ---------------------------------------------------------------- heads
@pytest.mark.parametrize("name", list(HEADS))
def test_every_head_gives_each_sequence_its_lone_output(name):
    torch.manual_seed(0)
    head = make_head(name, feature_dim=16)
    seqs, x, mask = _padded([1, 4, 16, 21])
    vis = torch.rand(x.shape[:2], generator=torch.Generator().manual_seed(2))
    extra = (vis,) if getattr(head, "needs_visibility", False) else ()
    pooled, scores = head(x, mask, *extra)
    assert pooled.shape == (4, 16)
    for i, z in enumerate(seqs):
        alone, s_alone = head(z[None], None, *(v[i : i + 1, : len(z)] for v in extra))
        torch.testing.assert_close(pooled[i], alone[0], atol=1e-5, rtol=1e-5)
        if scores is not None:
            torch.testing.assert_close(scores[i, : len(z)], s_alone[0], atol=1e-5, rtol=1e-5)
            assert bool((scores[i, len(z) :] == 0).all())


@pytest.mark.parametrize("head", [MeanPool(), MaxPool()])
def test_mean_and_max_pooling_ignore_frame_order(head):
    z = torch.randn(2, 9, 16)
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(head(z[:, perm])[0], head(z)[0])
    torch.testing.assert_close(MeanPool()(z)[0], z.mean(1))
    torch.testing.assert_close(MaxPool()(z)[0], z.amax(1))


class _Constant(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, features, mask):
        return self.c * (torch.ones(features.shape[:2]) if mask is None else mask.to(features.dtype))


@pytest.mark.parametrize("c", [0.25, 0.8])
def test_attention_with_equal_scores_is_a_scaled_mean(c):
    z = torch.randn(3, 11, 16)
    mean = z.mean(1)
    for kw, want in [({}, c * 11 * mean), ({"normalize": True}, mean), ({"combine": True}, (c * 11 + 1) / 2 * mean)]:
        head = AttentionPool(16, **kw)
        head.scorer = _Constant(c)
        torch.testing.assert_close(head(z)[0], want)
    head = AttentionPool(16, combine=True, l2_normalize=True)
    head.scorer = _Constant(c)
    torch.testing.assert_close(head(z)[0], F.normalize(mean, dim=1))


def test_paper_head_is_unit_length_and_its_sum_ablation_is_not():
    torch.manual_seed(0)
    z = torch.randn(3, 9, 16) * 5
    paper, ablation = make_head("combined", 16), make_head("combined_sum", 16)
    ablation.load_state_dict(paper.state_dict())  # the same scorer
    f, s = paper(z)
    raw, s2 = ablation(z)
    torch.testing.assert_close(f.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(f, F.normalize(raw, dim=1))  # only the normalisation differs
    torch.testing.assert_close(s, s2)
    want = ((s[..., None] * z).sum(1) + z.mean(1)) / 2  # F = (Eq. 2 + mean) / 2, by hand
    torch.testing.assert_close(raw, want)
    torch.testing.assert_close(paper.raw(z)[0], want)  # what the identity classifier reads
    assert not torch.allclose(raw.norm(dim=1), torch.ones(3))


def test_network_normalises_for_the_distance_and_classifies_the_raw_feature():
    torch.manual_seed(0)
    net = VideoReIDNet(num_classes=4, head="combined").eval()
    x = torch.randn(2, 6, 5, 56, 40)
    f, raw, scores = net.encode(x)
    torch.testing.assert_close(f, F.normalize(raw, dim=1))
    torch.testing.assert_close(net(x)[0], f)
    mean_net = VideoReIDNet(num_classes=4, head="mean").eval()
    f, raw, _ = mean_net.encode(x)
    assert f is raw  # mean pooling: one feature for both


def test_normalised_mean_and_oracle_classify_the_raw_feature():
    """The paper's protocol without attention: the distance sees F / |F|, the classifier F itself."""
    torch.manual_seed(0)
    x = torch.randn(2, 6, 5, 56, 40)
    vis = torch.tensor([[1.0, 0.5, 0.0, 1.0, 1.0, 0.2], [0.3, 0.3, 1.0, 1.0, 0.0, 0.0]])
    for head, extra in (("mean", ()), ("oracle", (vis,))):
        plain = VideoReIDNet(num_classes=4, head=head).eval()
        unit = VideoReIDNet(num_classes=4, head=head, l2_normalize=True).eval()
        unit.load_state_dict(plain.state_dict())
        f, raw, _ = unit.encode(x, None, *extra)
        want = plain(x, None, *extra)[0]  # the plain head's F, by the other path
        torch.testing.assert_close(raw, want)
        torch.testing.assert_close(f, want / want.norm(dim=1, keepdim=True))
        torch.testing.assert_close(unit(x, None, *extra)[0], f)
    z = torch.tensor([[[3.0, 4.0], [3.0, 4.0]]])
    torch.testing.assert_close(make_head("mean", l2_normalize=True)(z)[0], torch.tensor([[0.6, 0.8]]))  # by hand


def test_sigmoid_weighted_mean_separates_sum_from_mean():
    torch.manual_seed(0)
    z = torch.randn(2, 7, 16)
    total, mean = make_head("attention", 16), make_head("attention_mean", 16)
    mean.load_state_dict(total.state_dict())
    gamma, lam = total(z)
    wmean, lam2 = mean(z)
    torch.testing.assert_close(lam, lam2)
    torch.testing.assert_close(wmean, gamma / lam.sum(1, keepdim=True))  # sum lambda z / sum lambda
    total.scorer = mean.scorer = _Constant(0.5)  # equal scores: the length effect alone
    longer = torch.cat([z, z], 1)  # the same frames twice: the sum doubles, the mean stays
    torch.testing.assert_close(total(longer)[0], 2 * total(z)[0])
    torch.testing.assert_close(mean(longer)[0], mean(z)[0])


def test_softmax_head_weights_sum_to_one():
    torch.manual_seed(0)
    z = torch.randn(2, 5, 16)
    seqs, x, mask = _padded([3, 5], d=16)
    pooled, w = make_head("softmax", 16)(x, mask)
    torch.testing.assert_close(w.sum(1), torch.ones(2))
    assert bool((w[0, 3:] == 0).all())
    torch.testing.assert_close(pooled, (w[..., None] * x).sum(1))
    assert make_head("softmax", 16)(z)[1].shape == (2, 5)


def test_oracle_pools_with_the_true_visibility():
    z = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [4.0, 4.0]]])  # (1, 3, 2)
    vis = torch.tensor([[1.0, 0.5, 0.0]])  # the last frame shows nothing of the person
    pooled, w = OraclePool()(z, None, vis)
    torch.testing.assert_close(pooled, torch.tensor([[1.0 / 1.5, 0.5 / 1.5]]))  # by hand: (1*z1 + 0.5*z2) / 1.5
    torch.testing.assert_close(w, vis)
    blind, _ = OraclePool()(z, None, torch.zeros(1, 3))  # never visible: the plain mean
    torch.testing.assert_close(blind, z.mean(1))
    with pytest.raises(ValueError, match="true visibility of each frame"):
        OraclePool()(z)
    net = VideoReIDNet(num_classes=2, head="oracle").eval()
    assert net.needs_visibility and not VideoReIDNet(num_classes=2).needs_visibility
    x = torch.randn(1, 3, 5, 56, 40)
    f, scores = net(x, None, vis)
    z_net = net.frame_features(x)
    torch.testing.assert_close(f, (vis[..., None] * z_net).sum(1) / vis.sum())
    assert sum(p.numel() for p in net.head.parameters()) == 0  # nothing in the oracle is learned


def test_rnn_attention_shapes_and_range():
    for cell in ("lstm", "gru", "rnn"):
        att = RNNTemporalAttention(feature_dim=16, cell=cell, bidirectional=cell == "gru")
        for n in NS[:6]:
            s = att(torch.randn(2, n, 16))
            assert s.shape == (2, n) and bool(((s > 0) & (s < 1)).all())


def test_lstm_macs_match_formula():
    att = RNNTemporalAttention(feature_dim=16, hidden=8, cell="lstm")
    n = 10  # per step: 4 gates x 8 hidden x (16 input + 8 hidden); plus the 8 -> 1 score per frame
    assert count_macs(att, torch.zeros(1, n, 16)) == n * 4 * 8 * (16 + 8) + n * 8


def test_make_head_rejects_unknown_names_and_options():
    with pytest.raises(ValueError, match="unknown head 'avg'.*'mean'"):
        make_head("avg")
    with pytest.raises(TypeError, match="head 'mean' does not take these options \\['windows'\\]"):
        make_head("mean", windows=(5, 3))


# ---------------------------------------------------------------- the whole network
@pytest.mark.parametrize("head", ["combined", "rcn", "rnn_attention"])
def test_network_padded_batch_matches_each_sequence(head):
    torch.manual_seed(0)
    net = VideoReIDNet(num_classes=5, head=head).eval()
    lengths = [2, 5]
    x = torch.randn(2, 5, 5, 56, 40)
    mask = torch.arange(5) < torch.tensor(lengths)[:, None]
    feats, scores = net(x, mask)
    assert feats.shape == (2, 128)
    for i, n in enumerate(lengths):
        alone, s_alone = net(x[i : i + 1, :n])
        torch.testing.assert_close(feats[i], alone[0], atol=1e-5, rtol=1e-5)
        if scores is not None:
            torch.testing.assert_close(scores[i, :n], s_alone[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("head", list(HEADS))
def test_gradients_reach_every_parameter(head):
    from reidlib.losses import siamese_loss

    torch.manual_seed(0)
    net = VideoReIDNet(num_classes=4, head=head)
    x1, x2 = torch.randn(2, 4, 5, 56, 40), torch.randn(2, 4, 5, 56, 40)
    vis = torch.tensor([[1.0, 0.2, 0.5, 0.9]] * 2)
    (f1, r1, _), (f2, r2, _) = net.encode(x1, None, vis), net.encode(x2, None, vis)
    total, _ = siamese_loss(
        f1,
        f2,
        torch.tensor([True, False]),
        net.identity_logits(r1),
        net.identity_logits(r2),
        torch.tensor([0, 1]),
        torch.tensor([0, 2]),
    )
    total.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and bool(p.grad.abs().sum() > 0), name


def test_summary_counts():
    net = VideoReIDNet(num_classes=10)
    info = net.summary(num_frames=16, show=False)
    assert info["params_cnn"] == 368288 and info["params_classifier"] == 128 * 10 + 10
    assert info["params_total"] == sum(p.numel() for p in net.parameters())
    # head on 16 frames: conv 5 (128 -> 64) at 16, conv 3 (64 -> 64) at 8, score 1x1 at 4,
    # upsampling x4 of 4 + 2 edge cells by a kernel of 8
    head = 16 * 64 * 128 * 5 + 8 * 64 * 64 * 3 + 4 * 64 + 6 * 8
    assert info["macs_head"] == head
    assert info["macs_per_sequence"] == 16 * info["macs_per_frame"] + head


def test_network_rejects_bad_input():
    net = VideoReIDNet(num_classes=3)
    with pytest.raises(ValueError, match=r"\(B, T, C, 56, 40\).*unsqueeze"):
        net(torch.randn(4, 5, 56, 40))
    with pytest.raises(ValueError, match="bool tensor of shape"):
        net(torch.randn(1, 4, 5, 56, 40), torch.ones(1, 4))
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        VideoReIDNet(num_classes=0)


def test_masked_frame_features_under_autocast():
    """Mixed precision: the CNN's output dtype (bfloat16 here, float16 on cuda) must fill the padded batch."""
    from reidlib.models import VideoReIDNet

    torch.manual_seed(0)
    net = VideoReIDNet(num_classes=3).eval()
    x = torch.randn(2, 4, 5, 56, 40)
    mask = torch.tensor([[True, True, True, False], [True, True, True, True]])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = net.frame_features(x, mask)
    assert z.dtype == torch.bfloat16 and z.shape == (2, 4, 128)
    assert torch.all(z[0, 3] == 0)
    torch.testing.assert_close(z[1].float(), net.frame_features(x[1:2])[0], atol=0.1, rtol=0.05)


def test_unit_identity_input_feeds_the_classifier_a_scaled_unit_vector():
    """identity="unit": whatever the head, the classifier reads UNIT_SCALE x F / |F|; the distance is unchanged."""
    from reidlib.models import UNIT_SCALE, build_model, model_config

    x = torch.randn(2, 6, 5, 56, 40)
    for head in ("mean", "combined"):
        torch.manual_seed(0)
        paper = VideoReIDNet(3, head=head).eval()
        torch.manual_seed(0)
        unit = VideoReIDNet(3, head=head, identity="unit").eval()
        with torch.no_grad():
            f0, raw, _ = paper.encode(x)
            f1, ident, _ = unit.encode(x)
        assert torch.equal(f0, f1)
        assert torch.allclose(ident, UNIT_SCALE * raw / raw.norm(dim=1, keepdim=True))
        assert model_config(unit)["identity"] == "unit" and "identity" not in model_config(paper)
        assert build_model(model_config(unit)).identity == "unit"
    with pytest.raises(ValueError, match="identity must be one of"):
        VideoReIDNet(3, identity="bn")
