"""The figure helpers of chapters 1-4 in reidlib.viz: what they draw, and their errors on bad input."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb

from reidlib import viz
from reidlib.data import PRESETS, SyntheticReID


def frames(t=5, h=16, w=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(t, h, w, 3), dtype=np.uint8)


# Machado, Oliveira & Fernandes (2009): linear-RGB matrices that simulate full deuteranopia and protanopia.
DEUTERANOPIA = np.array(
    [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
)
PROTANOPIA = np.array(
    [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
)


def _seen(colour, matrix):
    """An sRGB colour as a reader with that colour blindness sees it (sRGB in [0, 1])."""
    c = np.asarray(to_rgb(colour))
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return np.clip(matrix @ linear, 0, 1) ** (1 / 2.4)


def _apart(a, b, matrix):
    return float(np.linalg.norm(_seen(a, matrix) - _seen(b, matrix)))


def test_line_colours_stay_apart_for_colour_blind_readers():
    assert set(viz.LINE_COLOURS) <= set(viz.OKABE_ITO.values()) and len(set(viz.LINE_COLOURS)) == len(viz.LINE_COLOURS)
    for matrix in (DEUTERANOPIA, PROTANOPIA):
        for i, a in enumerate(viz.LINE_COLOURS):
            for b in viz.LINE_COLOURS[i + 1 :]:
                assert _apart(a, b, matrix) > 0.15, (a, b)
    assert _apart("tab:red", "tab:green", DEUTERANOPIA) < 0.15  # the test sees the problem it guards against


def test_score_colours_rise_in_brightness_for_colour_blind_readers():
    s = np.linspace(0, 1, 11)
    for matrix in (None, DEUTERANOPIA, PROTANOPIA):
        seen = [c if matrix is None else _seen(c, matrix) for c in viz.score_colours(s)]
        grey = np.asarray(seen) @ [0.299, 0.587, 0.114]
        assert np.all(np.diff(grey) > 0.02), matrix


def test_image_grid_draws_each_image_in_order_with_titles_and_row_labels():
    imgs = list(frames(5)) + [np.arange(12.0).reshape(4, 3)]
    fig = viz.image_grid(imgs, [f"t{i}" for i in range(6)], columns=4, row_labels=["a", "b"], cmap="gray")
    axes = fig.axes
    assert len(axes) == 8 and [len(ax.images) for ax in axes] == [1] * 6 + [0, 0]
    for ax, img in zip(axes[:6], imgs, strict=True):
        np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), img)
    assert [ax.get_title() for ax in axes[:6]] == [f"t{i}" for i in range(6)]
    assert axes[0].get_ylabel() == "a" and axes[4].get_ylabel() == "b"
    assert fig.get_size_inches()[0] == pytest.approx(7.5)
    plt.close(fig)
    fig = viz.image_grid([np.zeros((4, 4)), np.ones((4, 4))], cmap=["gray", "magma"], vmin=[0, -1], vmax=[1, 2])
    assert [im.get_cmap().name for ax in fig.axes for im in ax.images] == ["gray", "magma"]
    assert fig.axes[1].images[0].get_clim() == (-1, 2)
    plt.close(fig)


def test_image_grid_explains_bad_input():
    with pytest.raises(ValueError, match="no images"):
        viz.image_grid([])
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\); found shape \(2, 4, 4, 3\)"):
        viz.image_grid([frames(2, 4, 4)])
    with pytest.raises(ValueError, match="one title .* per image: 2 images"):
        viz.image_grid(list(frames(2)), ["only one"])
    with pytest.raises(ValueError, match="name each of the 1 rows"):
        viz.image_grid(list(frames(2)), row_labels=["a", "b"])


def test_ranking_figure_marks_the_true_match_in_words_and_border():
    q, g = frames(1, seed=1)[0], frames(3, seed=2)
    fig = viz.ranking_figure(q, g, torch.tensor([0.5, 0.75, 1.0]), [False, True, False], title="t")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("query")
    assert titles[1:] == ["rank 1\nd = 0.50", "rank 2\nd = 0.75\nsame person", "rank 3\nd = 1.00"]
    shown = [np.asarray(ax.images[0].get_array()) for ax in fig.axes]
    assert len({s.shape for s in shown}) == 1  # every tile the same size
    green = np.rint(np.array(to_rgb(viz.MATCH_COLOUR)) * 255)
    np.testing.assert_array_equal(shown[2][0, 0], green)  # the match: a thick coloured border
    np.testing.assert_array_equal(shown[2][6:-6, 6:-6], g[1])
    assert not np.array_equal(shown[1][0, 0], green) and not np.array_equal(shown[3][4, 4], green)
    np.testing.assert_array_equal(shown[1][6:-6, 6:-6], g[0])
    plt.close(fig)
    with pytest.raises(ValueError, match="one distance and one match flag per gallery image: 3 images, 2"):
        viz.ranking_figure(q, g, [0.1, 0.2], [True, False, False])


def _loop_regions(render, t, margin, erode):
    """Pixel by pixel, the definition of viz.flow_regions."""
    h, w = render.person.shape[1:]
    r = erode // 2
    torso = np.zeros((h, w), bool)
    background = np.zeros((h, w), bool)
    for i in range(h):
        for j in range(w):
            torso[i, j] = render.torso[t - 1, i, j] > 0.99 and render.torso[t, i, j] > 0.99
            if margin <= i < h - margin and margin <= j < w - margin:
                win = (slice(max(i - r, 0), i + r + 1), slice(max(j - r, 0), j + r + 1))
                background[i, j] = (render.person[t - 1][win] == 0).all() and (render.person[t][win] == 0).all()
    return torso, background


def test_flow_regions_follow_their_definition():
    render = SyntheticReID(**PRESETS["tiny_clean"], seed=0).render(1, 0)
    for t in (1, 4):
        torso, background = viz.flow_regions(render, t, margin=5, erode=7)
        want_torso, want_background = _loop_regions(render, t, 5, 7)
        np.testing.assert_array_equal(torso, want_torso)
        np.testing.assert_array_equal(background, want_background)
        assert torso.any() and background.any() and not (torso & background).any()
    with pytest.raises(IndexError, match=r"t must be in \[1, "):
        viz.flow_regions(render, 0)


def test_filter_grid_puts_each_filter_slice_at_its_channel_row():
    w = torch.arange(3 * 2 * 3 * 3, dtype=torch.float32).reshape(3, 2, 3, 3) - 20
    fig = viz.filter_grid(w, ["Y", "flow"], columns=2)
    axes = fig.axes  # blocks of 2 filters: rows (Y, flow) for filters 0-1, then for filter 2
    assert len(axes) == 8
    np.testing.assert_array_equal(np.asarray(axes[0].images[0].get_array()), w[0, 0])
    np.testing.assert_array_equal(np.asarray(axes[3].images[0].get_array()), w[1, 1])
    np.testing.assert_array_equal(np.asarray(axes[4].images[0].get_array()), w[2, 0])
    assert [axes[k].get_ylabel() for k in (0, 2, 4, 6)] == ["Y", "flow", "Y", "flow"]
    assert [axes[k].get_title() for k in range(8)] == ["0", "1", "", "", "2", "", "", ""]
    assert axes[0].images[0].get_clim() == (-float(w.abs().max()), float(w.abs().max()))
    plt.close(fig)
    with pytest.raises(ValueError, match=r"one name per input channel; found shape \(3, 2, 3, 3\) and 1"):
        viz.filter_grid(w, ["Y"])


def test_attention_timeline_gives_each_line_its_own_palette_colour():
    fig = viz.attention_timeline(np.linspace(0, 1, 6), np.ones(6), label="a")
    viz.attention_timeline(np.linspace(1, 0, 6), np.ones(6), ax=fig.axes[0], label="b")
    lines = {line.get_label(): line.get_color() for line in fig.axes[0].lines}
    assert lines == {"a": viz.LINE_COLOURS[0], "true visibility v": "k", "b": viz.LINE_COLOURS[1]}
    plt.close(fig)


def test_use_palette_sets_the_colour_cycle_of_new_figures():
    old = plt.rcParams["axes.prop_cycle"]
    try:
        viz.use_palette()
        fig, ax = plt.subplots()
        lines = [ax.plot([0, 1])[0] for _ in viz.LINE_COLOURS]
        assert [line.get_color() for line in lines] == list(viz.LINE_COLOURS)
        plt.close(fig)
    finally:
        plt.rcParams["axes.prop_cycle"] = old
