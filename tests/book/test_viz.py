import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib import colormaps

from reidlib import viz


def frames(t=5, h=16, w=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(t, h, w, 3), dtype=np.uint8)


def test_score_colours_follow_the_colormap_and_clip():
    got = viz.score_colours(torch.tensor([0.0, 0.5, 1.0, 2.0, -1.0]))
    cmap = colormaps[viz.CMAP]
    np.testing.assert_allclose(got[:3], [cmap(0.0)[:3], cmap(0.5)[:3], cmap(1.0)[:3]])
    np.testing.assert_allclose(got[3], got[2])  # above vmax -> the top colour
    np.testing.assert_allclose(got[4], got[0])  # below vmin -> the bottom colour
    assert got[0, 2] > got[0, 0] and got[2, 0] > got[2, 2]  # low = dark blue, high = yellow
    grey = got @ [0.299, 0.587, 0.114]
    assert np.all(np.diff(grey[:3]) > 0.2)  # readable without colour: brightness rises with the score
    np.testing.assert_allclose(viz.score_colours([2.0], vmin=1.0, vmax=3.0), [cmap(0.5)[:3]])
    with pytest.raises(ValueError, match="vmin < vmax"):
        viz.score_colours([0.5], vmin=1, vmax=1)


def test_add_border_frames_the_image_in_the_colour():
    f = frames(1)[0]
    out = viz.add_border(f, (1.0, 0.0, 0.5), width=3)
    assert out.shape == (22, 14, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[3:-3, 3:-3], f)
    ring = np.ones(out.shape[:2], bool)
    ring[3:-3, 3:-3] = False
    assert (out[ring] == [255, 0, 128]).all()
    np.testing.assert_array_equal(viz.add_border(f, (0, 0, 0), width=0), f)
    with pytest.raises(ValueError, match=r"RGB values in \[0, 1\]"):
        viz.add_border(f, (255, 0, 0))


def test_attention_strip_draws_every_frame_with_its_border():
    fr, s = frames(5), np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    fig = viz.attention_strip(fr, s, visibility=s, columns=3, width=2, colorbar=False)
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(images) == 5 and len(fig.axes) == 6  # 2 rows x 3 columns, one left empty
    for img, f, c in zip(images, fr, viz.score_colours(s), strict=True):
        np.testing.assert_array_equal(np.asarray(img)[2:-2, 2:-2], f)
        np.testing.assert_array_equal(np.asarray(img)[0, 0], np.rint(c * 255).astype(np.uint8))
    assert fig.axes[3].get_title() == "#3\nλ=0.75\nv=0.75"
    plt.close(fig)
    fig = viz.attention_strip(fr[:2], [0.5, 0.5004], vmin=0.4995, vmax=0.5005, frame_ids=["p1 c2", "p3 c1"])
    assert [ax.get_title() for ax in fig.axes[:2]] == [
        "p1 c2\nλ=0.5000",
        "p3 c1\nλ=0.5004",
    ]  # decimals follow the range
    plt.close(fig)


def test_attention_strip_explains_bad_input():
    with pytest.raises(ValueError, match="one score .* per frame: 5 frames, 4 scores"):
        viz.attention_strip(frames(5), np.zeros(4))
    with pytest.raises(ValueError, match=r"uint8 RGB frames of shape \(T, H, W, 3\)"):
        viz.attention_strip(frames(5).astype(np.float32), np.zeros(5))
    with pytest.raises(ValueError, match=r"shape \(T,\); found shape \(1, 5\)"):
        viz.attention_strip(frames(5), np.zeros((1, 5)))


def test_attention_vs_visibility_refuses_constant_input():
    with pytest.raises(ValueError, match="values that vary.*Include occluded videos"):
        viz.attention_vs_visibility([np.array([0.3, 0.4])], [np.ones(2)])


def test_attention_vs_visibility_plots_every_frame():
    v = np.linspace(0, 1, 12)
    fig = viz.attention_vs_visibility([v[:5], v[5:]], [v[:5], v[5:]])
    offsets = fig.axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(offsets, np.c_[v, v])
    assert "Pearson r = 1.00" in fig.axes[0].get_title()
    plt.close(fig)


def test_attention_timeline_shades_marked_frames_and_checks_them():
    fig = viz.attention_timeline(np.linspace(0, 1, 6), np.ones(6), marked=[2, 4])
    ax = fig.axes[0]
    assert len(ax.patches) == 2 and len(ax.lines) == 2
    plt.close(fig)
    with pytest.raises(IndexError, match="marked frame 6 is outside the sequence of 6 frames"):
        viz.attention_timeline(np.zeros(6), marked=[6])


def test_paste_occluder_changes_only_the_box_on_chosen_frames():
    fr = frames(4, h=8, w=4)
    out = viz.paste_occluder(fr, [1, 3], box=(0.25, 0.5, 0.5, 0.5), colour=(1, 2, 3))
    assert out is not fr and not np.shares_memory(out, fr)
    np.testing.assert_array_equal(out[[0, 2]], fr[[0, 2]])
    for i in (1, 3):
        assert (out[i, 2:6, 2:4] == [1, 2, 3]).all()
        inside = np.zeros((8, 4), bool)
        inside[2:6, 2:4] = True
        np.testing.assert_array_equal(out[i][~inside], fr[i][~inside])
    np.testing.assert_array_equal(viz.paste_occluder(fr, []), fr)


def test_paste_occluder_explains_bad_input():
    with pytest.raises(IndexError, match=r"must lie in \[0, 4\); found 0..4"):
        viz.paste_occluder(frames(4), [0, 4])
    with pytest.raises(ValueError, match="box inside the frame"):
        viz.paste_occluder(frames(4), [0], box=(0.8, 0, 0.5, 1))
    with pytest.raises(ValueError, match="RGB in 0..255"):
        viz.paste_occluder(frames(4), [0], colour=(300, 0, 0))
