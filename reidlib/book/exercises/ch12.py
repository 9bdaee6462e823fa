"""Chapter 12: the iLIDS-VID folder layout, and how long the paper's protocol takes to train."""

from __future__ import annotations

import math
from pathlib import PurePosixPath

from ...data import frame_number
from ._core import call, fail, passed


def ilidsvid_frame_path(pid: int, camid: int, frame: int) -> str:
    """The truth: the path of a frame inside the iLIDS-VID archive, e.g. (1, 0, 317) ->
    ``i-LIDS-VID/sequences/cam1/person001/cam1_person001_00317.png`` (camid 0 is "cam1")."""
    cam, person = f"cam{camid + 1}", f"person{pid:03d}"
    return f"i-LIDS-VID/sequences/{cam}/{person}/{cam}_{person}_{frame:05d}.png"


def check_ilidsvid_path(frame_path) -> bool:
    """Check ``frame_path(pid, camid, frame) -> str``: where iLIDS-VID keeps that frame (relative path)."""
    title = "frame_path"
    for pid, camid, frame in [(1, 0, 317), (319, 1, 5), (42, 1, 12345), (7, 0, 0)]:
        want = ilidsvid_frame_path(pid, camid, frame)
        got = call(title, frame_path, pid, camid, frame)
        got_s = str(PurePosixPath(str(got)))
        if got_s != want:
            parts, wparts = PurePosixPath(got_s).parts, PurePosixPath(want).parts
            hint = "i-LIDS-VID/sequences/cam<1|2>/person<3 digits>/cam<c>_person<3 digits>_<5 digits>.png"
            if len(parts) == len(wparts) and parts[2] == f"cam{camid}":
                hint = "cameras are numbered from 1 in the folder names: camid 0 is cam1"
            elif len(parts) == len(wparts) and parts[-2] != wparts[-2]:
                hint = "person folders have 3 digits: person001 (use f'{pid:03d}')"
            elif len(parts) == len(wparts) and parts[-1] != wparts[-1]:
                hint = "frame files have 5 digits and repeat the camera and person: cam1_person001_00317.png"
            fail(title, want, got_s, hint)
        if frame_number(got_s) != frame:  # the loader reads the frame number back from the name
            fail(title, f"a file name whose last number is {frame}", got_s)
    return passed(title, "reidlib's loader would find this frame and put it in the right place in time.")


def training_hours(
    epochs: int, train_persons: int, seconds_per_step: float, batch_size: int = 1, splits: int = 10
) -> float:
    """The truth: hours to train ``splits`` models; an epoch has ceil(2 x persons / batch) steps
    (one positive and one negative pair per person, ``batch_size`` pairs per step)."""
    return splits * epochs * math.ceil(2 * train_persons / batch_size) * seconds_per_step / 3600


def check_training_hours(hours) -> bool:
    """Check ``hours(epochs, train_persons, seconds_per_step, batch_size=1, splits=10) -> float``."""
    title = "training_hours"
    cases = [
        (1400, 150, 0.01, 1, 10),
        (1400, 89, 0.01, 1, 10),
        (10, 3, 1.8, 4, 2),
        (1, 1, 3600.0, 1, 1),
        (700, 150, 0.05, 8, 3),
        (20, 5, 0.5, 4, 1),  # 10 pairs in batches of 4: 3 steps (not 2 x ceil(5 / 4) = 4, nor 10 // 4 = 2)
    ]
    for epochs, persons, step, batch, splits in cases:
        want = training_hours(epochs, persons, step, batch, splits)
        got = call(title, hours, epochs, persons, step, batch, splits)
        try:
            got = float(got)
        except (TypeError, ValueError):
            fail(title, "a number of hours", repr(got), "return a float")
        if not math.isclose(got, want, rel_tol=1e-6):
            hint = "hours = splits x epochs x steps per epoch x seconds per step / 3600"
            one_pair = splits * epochs * math.ceil(persons / batch) * step / 3600
            no_ceil = splits * epochs * 2 * persons / batch * step / 3600
            halves = splits * epochs * 2 * math.ceil(persons / batch) * step / 3600
            if math.isclose(got, one_pair, rel_tol=1e-6):
                hint = "an epoch has 2 pairs per person (one positive, one negative)"
            elif math.isclose(got, no_ceil, rel_tol=1e-6):
                hint = "a last, smaller batch is still a step: round the steps per epoch up (math.ceil)"
            elif math.isclose(got, halves, rel_tol=1e-6):
                hint = (
                    "positives and negatives share the batches: ceil(2 x persons / batch), "
                    "not 2 x ceil(persons / batch)"
                )
            elif math.isclose(got, want * 3600, rel_tol=1e-6):
                hint = "convert seconds to hours: divide by 3600"
            fail(
                title,
                f"{want:.4g} h for epochs={epochs}, persons={persons}, {step} s/step, batch={batch}, splits={splits}",
                f"{got:.4g}",
                hint,
            )
    return passed(title, "Now you know whether to start it before lunch or before the weekend.")
