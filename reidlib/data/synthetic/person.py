"""A synthetic person (chapter 2): what they look like and how they walk, drawn as soft shapes.

A person is a handful of soft-edged shapes (head, hair, torso, arms, legs, shoes, maybe a bag)
with colours, a shirt pattern, a height, a build and a gait of their own (:class:`Identity`).
:func:`person_layers` places the shapes for every frame of a walk, back to front; :func:`draw_person`
composites them into a crop and also measures the part of the person outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .colours import HAIR, PALETTE, SKIN, colour
from .shapes import Canvas, composite, coverage, edge, pixel_axes, soft_box, touches_border

PATTERNS = ("solid", "hstripes", "vstripes", "patch")
BAGS = ("none", "backpack", "handbag")


@dataclass(frozen=True)
class Identity:
    """What a person looks like and how they walk (sizes relative to the frame)."""

    pid: int
    shirt: np.ndarray  # (3,) RGB
    shirt2: np.ndarray  # (3,) second colour of the pattern
    pattern: str  # one of PATTERNS
    stripe: float  # stripe period, in units of the person's height
    trousers: np.ndarray
    shoes: np.ndarray
    skin: np.ndarray
    hair: np.ndarray
    long_hair: bool
    long_sleeves: bool
    bag: str  # one of BAGS
    bag_colour: np.ndarray
    height: float  # person height / frame height
    build: float  # width factor, 1 = average
    gait_freq: float  # strides per frame
    gait_swing: float  # leg swing amplitude, radians


def draw_identity(rng: np.random.Generator, pid: int) -> Identity:
    """Person ``pid``'s appearance and gait, drawn from ``rng`` (the person's own stream)."""
    return Identity(
        pid=pid,
        shirt=colour(rng, PALETTE),
        shirt2=colour(rng, PALETTE),
        pattern=PATTERNS[rng.integers(len(PATTERNS))],
        stripe=float(rng.uniform(0.05, 0.09)),
        trousers=colour(rng, PALETTE),
        shoes=colour(rng, PALETTE[:4], 8),
        skin=colour(rng, SKIN, 8),
        hair=colour(rng, HAIR, 8),
        long_hair=bool(rng.random() < 0.35),
        long_sleeves=bool(rng.random() < 0.5),
        bag=BAGS[rng.choice(3, p=[0.5, 0.25, 0.25])],
        bag_colour=colour(rng, PALETTE),
        height=float(rng.uniform(0.74, 0.9)),
        build=float(rng.uniform(0.85, 1.2)),
        gait_freq=float(rng.uniform(0.045, 0.09)),
        gait_swing=float(rng.uniform(0.25, 0.5)),
    )


@dataclass(frozen=True)
class Body:
    """Where a person's parts are in each frame, in pixels: from the centre x and head top (T, 1, 1), the
    height (a scalar or (T, 1, 1), float32), the facing direction (+1: right, -1: left) and the build."""

    cx: np.ndarray
    top: np.ndarray
    height: np.ndarray
    facing: float
    head_y: np.ndarray  # centre of the head
    shoulder_y: np.ndarray
    hip_y: np.ndarray
    arm_length: np.ndarray
    arm_radius: np.ndarray
    leg_length: np.ndarray
    leg_radius: np.ndarray
    torso_half_width: np.ndarray

    @classmethod
    def of(cls, ident: Identity, cx, top, height, facing: float) -> Body:
        height = np.float32(height)  # float32 throughout
        return cls(
            cx=cx,
            top=top,
            height=height,
            facing=facing,
            head_y=top + 0.075 * height,
            shoulder_y=top + 0.19 * height,
            hip_y=top + 0.48 * height,
            arm_length=0.34 * height,
            arm_radius=0.032 * height,
            leg_length=0.48 * height,
            leg_radius=0.045 * height * np.float32(np.sqrt(ident.build)),
            torso_half_width=0.1 * ident.build * height,
        )

    def limb_end(self, angle, root_y, length) -> tuple:
        """The end (x, y) of a limb of ``length`` hanging from (cx, root_y), swung forward by ``angle`` (radians)."""
        return self.cx + self.facing * length * np.sin(angle), root_y + length * np.cos(angle)


def person_layers(ident: Identity, x, y, cx, top, height, swing, facing: float) -> tuple[list, tuple]:
    """The person's shapes, back to front, as layers of :mod:`~reidlib.data.synthetic.shapes` on the pixel
    grid x (1, 1, W), y (1, H, 1); also returns the torso's layer (a rigid part: the truth of the flow).

    cx, top, swing: (T, 1, 1) centre x, head top and leg angle; height: a scalar or (T, 1, 1);
    facing: +1 (walking right) or -1."""
    canvas, body = Canvas(x, y), Body.of(ident, cx, top, height, facing)
    dark = np.float32(0.72)  # the far limbs are in shade
    torso = _torso(canvas, body, ident)
    layers = _arm(canvas, body, ident, swing, dark) + _leg(canvas, body, ident, -swing, dark)  # far side, behind
    if ident.bag == "backpack":
        h = body.height
        centre = body.cx - facing * (body.torso_half_width + 0.03 * h)
        layers.append(canvas.rect(centre, top + 0.3 * h, 0.05 * h, 0.11 * h, 0.02 * h, ident.bag_colour))
    layers.append(torso)
    if ident.long_hair:
        h = body.height
        layers.append(
            canvas.capsule(
                cx - facing * 0.03 * h, body.head_y, cx - facing * 0.04 * h, top + 0.2 * h, 0.045 * h, ident.hair
            )
        )
    layers += _head(canvas, body, ident)
    layers += _leg(canvas, body, ident, swing, 1.0) + _arm(canvas, body, ident, -swing, 1.0)  # near side, in front
    if ident.bag == "handbag":
        hand_x, hand_y = body.limb_end(-swing, body.shoulder_y, body.arm_length)
        h = body.height
        layers.append(canvas.rect(hand_x, hand_y + 0.05 * h, 0.055 * h, 0.05 * h, 0.01 * h, ident.bag_colour))
    return layers, torso


def _arm(canvas: Canvas, body: Body, ident: Identity, angle, shade) -> list:
    """Upper arm (sleeve) and forearm (sleeve or skin) swung by ``angle``, darkened by ``shade``."""
    elbow_x, elbow_y = body.limb_end(angle, body.shoulder_y, body.arm_length / 2)
    hand_x, hand_y = body.limb_end(angle, body.shoulder_y, body.arm_length)
    fore = ident.shirt if ident.long_sleeves else ident.skin
    r = body.arm_radius
    return [
        canvas.capsule(body.cx, body.shoulder_y, elbow_x, elbow_y, r, ident.shirt * shade),
        canvas.capsule(elbow_x, elbow_y, hand_x, hand_y, r * 0.9, fore * shade),
    ]


def _leg(canvas: Canvas, body: Body, ident: Identity, angle, shade) -> list:
    """A trouser leg swung by ``angle`` and its shoe, darkened by ``shade``."""
    foot_x, foot_y = body.limb_end(angle, body.hip_y, body.leg_length)
    h = body.height
    rows, cols, _, shoe = canvas.ellipse(foot_x + body.facing * 0.03 * h, foot_y + 0.01 * h, 0.05 * h, 0.025 * h)
    trousers = canvas.capsule(body.cx, body.hip_y, foot_x, foot_y, body.leg_radius, ident.trousers * shade)
    return [trousers, (rows, cols, shoe, ident.shoes * shade)]


def _torso(canvas: Canvas, body: Body, ident: Identity) -> tuple:
    """The torso's layer, its shirt's pattern attached to the body (it moves with it)."""
    h, half_width = body.height, body.torso_half_width
    torso = canvas.rect(body.cx, body.top + 0.32 * h, half_width, 0.17 * h, 0.03 * h, ident.shirt)
    rows, cols, alpha, _ = torso
    ys, xs, period = canvas.y[:, rows], canvas.x[..., cols], ident.stripe * h
    if ident.pattern == "hstripes":
        mix = np.clip(0.5 + 2 * np.sin(2 * np.pi * (ys - body.top) / period), 0, 1)
    elif ident.pattern == "vstripes":
        mix = np.clip(0.5 + 2 * np.sin(2 * np.pi * (xs - body.cx) / period), 0, 1)
    elif ident.pattern == "patch":
        centre = body.cx + body.facing * 0.3 * half_width
        mix = soft_box(xs, ys, centre, body.top + 0.27 * h, 0.45 * half_width, 0.05 * h)
    else:
        return torso
    mix = np.broadcast_to(mix, alpha.shape)  # (T, rows, cols) -> colour (3, T, rows, cols)
    return rows, cols, alpha, ident.shirt[:, None, None, None] * (1 - mix) + ident.shirt2[:, None, None, None] * mix


def _head(canvas: Canvas, body: Body, ident: Identity) -> list:
    """The head (skin) and the hair that caps it."""
    h = body.height
    radius_y = 0.07 * h
    rows, cols, ys, head = canvas.ellipse(body.cx + body.facing * 0.01 * h, body.head_y, 0.055 * h, radius_y)
    return [(rows, cols, head, ident.skin), (rows, cols, head * edge(ys - (body.head_y - 0.25 * radius_y)), ident.hair)]


def draw_person(ident: Identity, size: tuple[int, int], cx, top, height, swing, facing: float) -> tuple:
    """The person in n frames of ``size`` (H, W): colour premultiplied (3, n, H, W), alpha (n, H, W), torso alpha
    (n, H, W) inside the crop, and the whole person's alpha summed (n,), inside the crop or not.

    cx, top, swing: (n, 1, 1); height: a scalar or (n, 1, 1)."""
    H, W = size
    x, y = pixel_axes(H, W)
    layers, (rows, cols, torso_alpha, _) = person_layers(ident, x, y, cx, top, height, swing, facing)
    rgb, alpha = composite(layers, (len(cx), H, W))
    torso = np.zeros_like(alpha)
    torso[:, rows, cols] = torso_alpha
    area = alpha.sum(axis=(1, 2))
    cut = touches_border(alpha)
    if cut.any():
        cut_height = height[cut] if np.ndim(height) else height
        area[cut] += beyond_crop(ident, size, cx[cut], top[cut], cut_height, swing[cut], facing)
    return rgb, alpha, torso, area


def beyond_crop(ident: Identity, size: tuple[int, int], cx, top, height, swing, facing: float) -> np.ndarray:
    """The person's alpha outside a crop of ``size`` (H, W), summed (n,): drawn on a canvas around the crop that
    holds all of it."""
    H, W = size
    reach, tall = 0.45 * height, 1.1 * height  # beyond any limb, bag or hair
    beyond = (-np.min(cx - reach), np.max(cx + reach) - W, -np.min(top), np.max(top + tall) - H)
    left, right, up, down = (max(0, int(np.ceil(v)) + 3) for v in beyond)
    x, y = pixel_axes(H + up + down, W + left + right)
    layers, _ = person_layers(ident, x, y, cx + left, top + up, height, swing, facing)
    alpha = coverage(layers, (len(cx), y.shape[1], x.shape[2]))
    alpha[:, up : up + H, left : left + W] = 0  # the crop
    return alpha.sum(axis=(1, 2))
