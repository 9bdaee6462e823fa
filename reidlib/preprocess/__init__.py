"""Preprocessing (chapter 3): colour, optical flow, the network input, and a cache.

A frame becomes a 56 x 40 x 5 tensor: Y, U, V standardised per frame and channel,
plus horizontal and vertical Lucas-Kanade optical flow between consecutive frames.
"""

from .cache import PreprocessedDataset, cache_root, dataset_fingerprint, preprocess_dataset
from .color import rgb_to_gray, rgb_to_yuv, standardize
from .flow import (
    FLOW_METHODS,
    compute_flow,
    dis,
    endpoint_error,
    farneback,
    flow_settings,
    flow_to_rgb,
    lucas_kanade,
    shifted_textures,
)
from .inputs import (
    CROP_SIZE,
    FLOW_CLIP,
    FLOW_SCALE,
    FRAME_SIZE,
    channels,
    crop_and_flip,
    make_input,
    mirror,
    prepare_sequence,
    resize_frames,
    scale_flow,
    sequence_flow,
)

__all__ = [
    "rgb_to_yuv",
    "rgb_to_gray",
    "standardize",
    "lucas_kanade",
    "farneback",
    "dis",
    "compute_flow",
    "FLOW_METHODS",
    "shifted_textures",
    "endpoint_error",
    "flow_to_rgb",
    "flow_settings",
    "resize_frames",
    "sequence_flow",
    "scale_flow",
    "prepare_sequence",
    "crop_and_flip",
    "mirror",
    "channels",
    "make_input",
    "FRAME_SIZE",
    "CROP_SIZE",
    "FLOW_SCALE",
    "FLOW_CLIP",
    "preprocess_dataset",
    "PreprocessedDataset",
    "cache_root",
    "dataset_fingerprint",
]
