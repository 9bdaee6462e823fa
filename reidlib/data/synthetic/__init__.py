"""A synthetic video re-ID benchmark (chapter 2): procedural pedestrians seen by several cameras.

A person is a handful of soft-edged shapes (head, hair, torso, arms, legs, shoes, maybe a bag)
with colours, a shirt pattern, a height, a build and a gait of their own (:mod:`.person`, drawn with
the shapes of :mod:`.shapes`). A camera is a scene (a wide background), a lighting colour cast, a
brightness, a sensor noise and a blur of its own (:mod:`.camera`). A tracklet is the person walking
through the scene in the crop of a tracker that follows them, so the background slides by
(:mod:`.render`).

Four degradations make some frames less informative than others, each drawn per tracklet
from a random stream of its own (:mod:`.degradations`: a thin occluder, a heavy occluder, a
distractor walking in front, a failure of the tracker's box).

The generator knows the truth: who it is, how much of the person is visible and inside
the crop in each frame (``visibility``), which degradation acts on each frame
(``degradation``, bit flags in the order of :data:`DEGRADATIONS`), and how the person
moved in the crop (``flow_truth``). Every tracklet is drawn from its own seeded
generators, so any one of them can be rendered alone, in any order, and always comes out
the same; :class:`SyntheticReID` renders them and keeps them on disk (:mod:`.store`).

The presets (:data:`PRESETS`, :mod:`.presets`): ``tiny``, ``quick``, ``small`` and ``standard`` are one
benchmark at four sizes, with all four degradations at the same rates (``standard`` is
the data of the shipped weights); ``<size>_clean`` are the same persons and cameras with
no degradation at all, for the "without occlusion" rows.
"""

from .camera import Camera
from .colours import HAIR, PALETTE, SKIN
from .degradations import ACTS, DEGRADATIONS, FAILURES, HEAVY_OCCLUDERS, OCCLUDERS, degraded
from .generator import GENERATOR_VERSION, RENDER_VERSION, SyntheticReID
from .person import BAGS, PATTERNS, Identity
from .presets import CLEAN, DEGRADED, PRESETS
from .render import Rendering
from .shapes import soft_box, soft_capsule, soft_ellipse
from .store import ARRAYS

__all__ = [
    "ACTS",
    "ARRAYS",
    "BAGS",
    "CLEAN",
    "Camera",
    "DEGRADATIONS",
    "DEGRADED",
    "FAILURES",
    "GENERATOR_VERSION",
    "HAIR",
    "HEAVY_OCCLUDERS",
    "Identity",
    "OCCLUDERS",
    "PALETTE",
    "PATTERNS",
    "PRESETS",
    "RENDER_VERSION",
    "Rendering",
    "SKIN",
    "SyntheticReID",
    "degraded",
    "soft_box",
    "soft_capsule",
    "soft_ellipse",
]
