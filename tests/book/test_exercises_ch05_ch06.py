"""Exercise checks of chapters 5 and 6: right answers pass, wrong ones get a clear CheckFailed."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reidlib.book.exercises.ch05 import measured_receptive_field
from reidlib.exercises import (
    CheckFailed,
    check_bilinear_weight,
    check_fcn_attention,
    check_masked_attention_pool,
    check_masked_mean,
    check_masked_softmax,
    check_receptive_field,
)
from reidlib.models import FCNTemporalAttention, init_interpolation_


def stub(*args):
    raise NotImplementedError("write this function")


# ------------------------------------------------------------------ chapter 5
def bilinear_weight(channels, factor):
    k = 2 * factor
    taps = 1 - (torch.arange(k) - (factor - 0.5)).abs() / factor  # (k,)
    w = torch.zeros(channels, channels, k, k)
    w[range(channels), range(channels)] = taps[:, None] * taps[None, :]
    return w


def test_bilinear_weight_right_answers_pass(capsys):
    assert check_bilinear_weight(bilinear_weight)
    library = lambda c, f: init_interpolation_(nn.ConvTranspose2d(c, c, 2 * f, f)).weight.detach()
    assert check_bilinear_weight(library)
    assert "correct" in capsys.readouterr().out


def test_bilinear_weight_wrong_answers_are_explained():
    every_channel = lambda c, f: bilinear_weight(1, f).expand(c, c, 2 * f, 2 * f)
    with pytest.raises(CheckFailed, match="(?s)zeros wherever.*copy only its own input channel"):
        check_bilinear_weight(every_channel)

    # centred on tap f instead of half-way between the two middle taps: 0, 0.5, 1, 0.5 for f = 2
    def off_centre(c, f):
        taps = (1 - (torch.arange(2 * f) - f).abs() / f).clamp_min(0)
        w = torch.zeros(c, c, 2 * f, 2 * f)
        w[range(c), range(c)] = taps[:, None] * taps[None, :]
        return w

    with pytest.raises(
        CheckFailed,
        match=r"(?s)expected: \S*0\.5625\S* at index \(0, 0, 2, 2\).*returned: \S*1\.0\S* there"
        r".*hint: the 1-D taps for factor 2 are 0.25, 0.75",
    ):
        check_bilinear_weight(off_centre)
    with pytest.raises(CheckFailed, match="not implemented yet. write this function"):
        check_bilinear_weight(stub)


def test_bilinear_weight_wrong_scale_fails_the_interpolation_test():
    # right for factor 2, but never rescaled by the factor: taps 1 - |x - c| / 2 for every factor
    def fixed_slope(c, f):
        k = 2 * f
        taps = (1 - (torch.arange(k) - (f - 0.5)).abs() / 2).clamp_min(0)
        w = torch.zeros(c, c, k, k)
        w[range(c), range(c)] = taps[:, None] * taps[None, :]
        return w

    with pytest.raises(CheckFailed, match="with factor 4 the upsampled image should equal bilinear interpolation"):
        check_bilinear_weight(fixed_slope)


@pytest.mark.parametrize(
    "layers, want",
    [
        ([(3, 1)], 3),
        ([(3, 1), (3, 1)], 5),
        ([(3, 1), (2, 2), (3, 1)], 8),
        ([(2, 2), (2, 2), (2, 2)], 8),
        ([(5, 1), (2, 2), (3, 1), (2, 2)], 1 + 4 + 1 + 2 * 2 + 1 * 2),
        ([(1, 16), (17, 1)], 1 + 16 * 16),  # a wide kernel after a big stride needs a long input
    ],
)
def test_measured_receptive_field_matches_hand_counts(layers, want):
    assert measured_receptive_field(layers) == want


def receptive_field(layers):
    r, jump = 1, 1
    for k, s in layers:
        r, jump = r + (k - 1) * jump, jump * s
    return r


def test_receptive_field_checks_both_sides(capsys):
    assert check_receptive_field(receptive_field)
    assert "correct" in capsys.readouterr().out
    no_strides = lambda layers: 1 + sum(k - 1 for k, _ in layers)
    with pytest.raises(
        CheckFailed,
        match=r"(?s)expected: 8 input frames for layers \[\(3, 1\), \(2, 2\), \(3, 1\)\].*"
        r"returned: 6.*product of the strides",
    ):
        check_receptive_field(no_strides)
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_receptive_field(stub)


class OneConv(nn.Module):
    """A small right answer: one temporal conv, max-pool 2, a 1x1 score, linear interpolation back to
    N frames; the padding is zeroed at every level."""

    def __init__(self, d):
        super().__init__()
        self.conv, self.score = nn.Conv1d(d, 8, 5, padding=2), nn.Conv1d(8, 1, 1)

    def coarse(self, z, mask):
        n = z.shape[1]
        m = mask[:, None].float()
        x = F.relu(self.conv(z.transpose(1, 2) * m)) * m
        x, m2 = F.max_pool1d(F.pad(x, (0, n % 2)), 2), F.max_pool1d(F.pad(m, (0, n % 2)), 2)
        return self.score(x) * m2  # (B, 1, ceil(N / 2))

    def forward(self, z, mask=None):
        mask = torch.ones(z.shape[:2], dtype=torch.bool) if mask is None else mask
        c = self.coarse(z, mask)
        up = F.interpolate(c, scale_factor=2, mode="linear", align_corners=False)[..., : z.shape[1]]
        return torch.sigmoid(up)[:, 0] * mask


def test_fcn_attention_right_answers_pass(capsys):
    assert check_fcn_attention(OneConv)
    assert check_fcn_attention(lambda d: FCNTemporalAttention(d))
    assert check_fcn_attention(lambda d: FCNTemporalAttention(d, windows=(5, 3, 3), variant="8s"))
    assert capsys.readouterr().out.count("correct") == 3


class NoMaskInside(OneConv):
    """Masks only the output: garbage in the padding leaks into the last real frames."""

    def forward(self, z, mask=None):
        s = super().forward(z)
        return s if mask is None else s * mask


class LinearOverTime(nn.Module):
    """Not convolutional: a global summary of the whole sequence enters every score."""

    def __init__(self, d):
        super().__init__()
        self.frame, self.context = nn.Linear(d, 1), nn.Linear(d, 1)

    def forward(self, z, mask=None):
        return torch.sigmoid(self.frame(z)[..., 0] + self.context(z.mean(1)))


class NoSigmoid(OneConv):
    def forward(self, z, mask=None):
        return 10 * F.interpolate(self.coarse(z, torch.ones(z.shape[:2], dtype=torch.bool)), size=z.shape[1])[:, 0]


class KeepsChannel(OneConv):
    def forward(self, z, mask=None):
        return super().forward(z, mask)[:, None]  # (B, 1, N)


class Unused(OneConv):
    def __init__(self, d):
        super().__init__(d)
        self.extra = nn.Conv1d(d, 1, 1)


def test_fcn_attention_wrong_answers_are_explained():
    with pytest.raises(CheckFailed, match="padded frames leak into the real ones"):
        check_fcn_attention(NoMaskInside)
    with pytest.raises(CheckFailed, match="score 0 on every padded frame"):
        check_fcn_attention(LinearOverTime)
    with pytest.raises(CheckFailed, match=r"(?s)sum to 1 over the \d+ frames of every video: a softmax"):
        check_fcn_attention(lambda d: FCNTemporalAttention(d, activation="softmax"))
    with pytest.raises(CheckFailed, match=r"(?s)scores in \[0, 1\].*end with a sigmoid"):
        check_fcn_attention(NoSigmoid)
    with pytest.raises(CheckFailed, match=r"(?s)scores of shape \(2, 1\).*shape \(2, 1, 1\).*drop the channel axis"):
        check_fcn_attention(KeepsChannel)
    with pytest.raises(CheckFailed, match=r"no gradient for \['extra.weight', 'extra.bias'\]"):
        check_fcn_attention(Unused)
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_fcn_attention(stub)
    with pytest.raises(CheckFailed, match="returned method; expected a torch.nn.Module"):
        check_fcn_attention(lambda d: OneConv(d).forward)


# ------------------------------------------------------------------ chapter 6
def masked_mean(z, mask):
    m = mask[..., None]
    return z.masked_fill(~m, 0).sum(1) / m.sum(1)


def masked_attention_pool(z, lam, mask):
    return (torch.where(mask, lam, 0)[..., None] * torch.where(mask[..., None], z, 0)).sum(1)


def masked_softmax(alpha, mask):
    return torch.softmax(alpha.masked_fill(~mask, float("-inf")), dim=1)


def test_pooling_right_answers_pass(capsys):
    assert check_masked_mean(masked_mean)
    assert check_masked_attention_pool(masked_attention_pool)
    assert check_masked_softmax(masked_softmax)
    assert capsys.readouterr().out.count("correct") == 3


def test_library_pooling_heads_pass_the_checks():
    from reidlib.models import MeanPool

    assert check_masked_mean(lambda z, m: MeanPool()(z, m)[0])


def test_masked_mean_wrong_answers_are_explained():
    with pytest.raises(
        CheckFailed,
        match=r"(?s)expected: \S*3\.0\S* at index \(0, 1\).*returned: \S*2\.0\S* there"
        r".*hint: divide the sum of the real frames",
    ):
        check_masked_mean(lambda z, m: (z * m[..., None]).sum(1) / z.shape[1])
    with pytest.raises(CheckFailed, match=r"(?s)NaN or inf.*masked_fill\(~mask, 0\)"):
        check_masked_mean(lambda z, m: (z * m[..., None]).sum(1) / m.sum(1, keepdim=True))
    with pytest.raises(CheckFailed, match="expected: an array of shape \\(1, 2\\)"):
        check_masked_mean(lambda z, m: (z * m[..., None]).sum(1, keepdim=True) / m.sum(1)[:, None, None])
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_masked_mean(stub)


def test_masked_attention_pool_wrong_answers_are_explained():
    normalised = lambda z, lam, m: masked_attention_pool(z, lam, m) / (lam * m).sum(1, keepdim=True)
    with pytest.raises(
        CheckFailed,
        match=r"(?s)expected: \S*4\.0\S* at index \(0, 1\).*returned: \S*2\.666.*lambda_i \* z_i, with no division",
    ):
        check_masked_attention_pool(normalised)
    no_mask = lambda z, lam, m: (lam[..., None] * z).sum(1)
    with pytest.raises(CheckFailed, match=r"(?s)expected: \S*1\.0\S* at index \(0, 0\).*returned: \S*7\.(3|29)"):
        check_masked_attention_pool(no_mask)
    # multiplying by the mask is not enough: the padding may hold NaN or inf, and NaN * 0 is NaN
    for by_product in (
        lambda z, lam, m: (lam[..., None] * (z * m[..., None])).sum(1),
        lambda z, lam, m: ((lam * m)[..., None] * z).sum(1),
    ):
        with pytest.raises(CheckFailed, match=r"(?s)NaN or inf.*NaN \* 0 = inf \* 0 = NaN.*torch.where"):
            check_masked_attention_pool(by_product)
    with pytest.raises(CheckFailed, match="returned a tuple"):
        check_masked_attention_pool(lambda z, lam, m: (masked_attention_pool(z, lam, m), lam))


def test_masked_softmax_wrong_answers_are_explained():
    with pytest.raises(CheckFailed, match=r"(?s)expected: .*0\.5.*set padded scores to -inf"):
        check_masked_softmax(lambda a, m: torch.softmax(a, 1) * m)
    naive = lambda a, m: torch.exp(a) * m / (torch.exp(a) * m).sum(1, keepdim=True)
    with pytest.raises(CheckFailed, match="(?s)NaN or inf.*inf \\* 0 is NaN"):
        check_masked_softmax(naive)
    with pytest.raises(CheckFailed, match="your function raised RuntimeError"):
        check_masked_softmax(lambda a, m: a @ m)


# ------------------------------------------------------------------ chapter 5: Eq. 1b and alignment
class Softmax(OneConv):
    """A softmax over the real frames instead of the sigmoid of Eq. 1b."""

    def forward(self, z, mask=None):
        mask = torch.ones(z.shape[:2], dtype=torch.bool) if mask is None else mask
        c = self.coarse(z, mask)
        alpha = F.interpolate(c, scale_factor=2, mode="linear", align_corners=False)[:, 0, : z.shape[1]]
        return torch.softmax(alpha.masked_fill(~mask, float("-inf")), 1)


class Lagging(OneConv):
    """Repeats the first coarse score before interpolating: every score comes from one frame later."""

    def forward(self, z, mask=None):
        mask = torch.ones(z.shape[:2], dtype=torch.bool) if mask is None else mask
        c = self.coarse(z, mask)
        up = F.interpolate(c, scale_factor=2, mode="linear", align_corners=False)
        return torch.sigmoid(torch.cat([up[..., :1], up], -1)[:, 0, : z.shape[1]]) * mask


class Clipped(OneConv):
    def forward(self, z, mask=None):
        s = super().forward(z, mask)
        return (4 * (s - 0.5) + 0.5).clamp(0, 1) * (1 if mask is None else mask)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (Softmax, r"(?s)sum to 1 over the \d+ frames.*a softmax.*Eq\. 1b"),
        (Lagging, r"(?s)scores shifted by about -1\.0 frames.*crop the transposed"),
        (Clipped, r"(?s)exactly 0 or 1.*not a clamp or a hard sigmoid"),
    ],
)
def test_fcn_attention_eq_1b_and_alignment_are_explained(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_fcn_attention(wrong)
