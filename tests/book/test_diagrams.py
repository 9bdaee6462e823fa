"""reidlib.diagrams: every figure draws what its docstring says, from the numbers it is given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb

from reidlib import diagrams
from reidlib.diagrams import charts, concepts, palette


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts + [ax.title])


def test_palette_colours_are_distinct_and_same_wrong_differ_in_lightness():
    rgb = [to_rgb(c) for c in palette.PALETTE.values()]
    assert len(set(rgb)) == len(rgb)
    # blue and vermillion: told apart by lightness too, not only by hue (red-green deficiency)
    luma = lambda c: 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]  # noqa: E731
    assert abs(luma(to_rgb(palette.SAME)) - luma(to_rgb(palette.WRONG))) > 0.05


@pytest.mark.parametrize("name", ["fcn_1d", "siamese_pipeline", "pair_sampling", "cmc_concept", "pk_batch"])
def test_every_concept_figure_draws(name):
    fig = getattr(diagrams, name)()
    assert isinstance(fig, plt.Figure) and fig.axes


def test_cmc_concept_draws_the_curve_of_its_ranks():
    fig = concepts.cmc_concept(first_ranks=(1, 2, 4), gallery_size=4)
    curve = fig.axes[1].lines[0]
    np.testing.assert_allclose(curve.get_ydata(), [1 / 3, 2 / 3, 2 / 3, 1])
    assert "2/3" in _texts(fig)


def test_fcn_1d_scores_are_the_sigmoid_of_the_interpolated_alphas():
    alpha = (2.0, -2.0, 0.0, 1.0)
    fig = concepts.fcn_1d(num_frames=16, alpha=alpha)
    shown = [float(t.get_text()) for t in fig.axes[0].texts if t.get_text().replace(".", "").isdigit()]
    centres = [(c + 0.5) * 4 - 0.5 for c in range(-1, 5)]
    want = 1 / (1 + np.exp(-np.interp(np.arange(16), centres, np.r_[alpha[0], alpha, alpha[-1]])))
    np.testing.assert_allclose(shown, np.round(want, 2))
    with pytest.raises(ValueError, match="N / 4 = 4 coarse scores"):
        concepts.fcn_1d(num_frames=16, alpha=(1.0, 2.0))


def test_pk_batch_states_the_batch_hard_loss_of_its_anchor():
    fig = concepts.pk_batch(p=3, k=2, margin=0.5, seed=1)
    right = fig.axes[1]
    (pos, neg) = right.lines[:2]
    d_pos = np.hypot(*np.diff(np.c_[pos.get_xdata(), pos.get_ydata()], axis=0)[0])
    d_neg = np.hypot(*np.diff(np.c_[neg.get_xdata(), neg.get_ydata()], axis=0)[0])
    assert f"= {max(0.0, 0.5 + d_pos - d_neg):.2f} for m = 0.5" in right.get_title()


def test_pair_sampling_marks_one_positive_and_one_negative_per_person():
    fig = concepts.pair_sampling(persons=5)
    markers = [ln for ln in fig.axes[0].lines]
    positives = [ln for ln in markers if ln.get_marker() == "o"]
    negatives = [ln for ln in markers if ln.get_marker() == "X"]
    assert len(positives) == len(negatives) == 5
    for ln in negatives:  # never on the diagonal: x + y = persons for cell (i, i) drawn at (i, 4 - i)
        x, y = ln.get_xdata()[0], ln.get_ydata()[0]
        assert x + y != pytest.approx(5.0)


def test_charts_plot_the_numbers_they_are_given():
    history = {
        "epoch": [0, 1, 2],
        "loss": [3.0, 2.0, 1.0],
        "id1": [1.0, 0.8, 0.5],
        "hinge": [0.5, 0.4, 0.3],
        "id2": [1.5, 0.8, 0.2],
        "id_acc": [0.1, 0.5, 0.9],
        "val_epoch": [2],
        "val_rank1": [40.0],
    }
    fig = charts.training_curves(history, chance=(0.25, 0.1))
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), history["loss"])
    np.testing.assert_allclose(fig.axes[1].lines[1].get_ydata(), [0.4])
    fig = charts.cmc_curves({"a": [50.0, 75.0, 100.0]})
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [50, 75, 100])
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), [100 / 3, 200 / 3, 100])  # random ranking
    results = {"mean": [0.9, 0.5], "oracle weights v": [0.9, 0.8]}
    fig = charts.pooling_under_occlusion([0.0, 0.5], results, people=10)
    assert [ln.get_linestyle() for ln in fig.axes[0].lines] == ["-", ":"]


@pytest.mark.parametrize(
    "draw",
    [
        lambda: charts.bar_examples(torch.randn(5, 1, 8, 8), torch.randint(0, 3, (5, 8, 8))),
        lambda: charts.upsampling_1d(torch.rand(3), torch.rand(12), torch.rand(12), 4),
        lambda: charts.segmentation_examples(
            torch.randn(4, 1, 8, 8), torch.randint(0, 3, (4, 8, 8)), {"net": torch.randint(0, 3, (4, 8, 8))}
        ),
        lambda: charts.video_as_image(torch.randn(20, 16), torch.rand(20), torch.rand(20) > 0.5),
        lambda: charts.bad_frame_scores([(torch.rand(20), torch.rand(20) > 0.5, {"a": torch.rand(20)})] * 2),
        lambda: charts.sigmoid_vs_softmax([(torch.rand(10), torch.randn(10), "t")] * 2),
        lambda: charts.pair_distances((torch.rand(4), torch.rand(12)), (torch.rand(4), torch.rand(12))),
        lambda: charts.ranked_gallery(
            np.zeros((8, 4, 3), np.uint8), [np.zeros((8, 4, 3), np.uint8)] * 3, [0.1, 0.2, 0.3], [False, True, False]
        ),
    ],
)
def test_every_chart_draws(draw):
    assert isinstance(draw(), plt.Figure)
