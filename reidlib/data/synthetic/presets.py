"""The presets of the synthetic benchmark (chapter 2): one benchmark at four sizes, degraded or clean."""

from __future__ import annotations

_SIZES = {
    "tiny": dict(num_ids=8, seq_len=(8, 16)),
    "quick": dict(num_ids=24, seq_len=(16, 32)),
    "small": dict(num_ids=80, seq_len=(16, 48)),
    "standard": dict(num_ids=300, seq_len=(16, 96)),
}
# Per-tracklet probabilities of each degradation and their run lengths (frames, at most 3/4 of a tracklet).
DEGRADED = dict(
    occlusion=0.5,
    heavy_occlusion=0.15,
    heavy_len=(6, 16),
    distractors=0.4,
    distractor_len=(16, 32),
    detection_failures=0.2,
    failure_len=(6, 16),
)
CLEAN = dict(occlusion=0.0, heavy_occlusion=0.0, distractors=0.0, detection_failures=0.0)
# name -> SyntheticReID arguments. Every size has all four degradations at the rates of DEGRADED
# (`standard` is the data of the shipped weights); "<size>_clean": the same persons, no degradation.
PRESETS = {name: {**size, **DEGRADED} for name, size in _SIZES.items()} | {
    f"{name}_clean": {**size, **CLEAN} for name, size in _SIZES.items()
}
