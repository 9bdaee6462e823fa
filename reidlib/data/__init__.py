"""Data for video re-ID (chapter 2): tracklets, datasets, splits and sampling."""
from .tracklet import Tracklet

__all__ = ["Tracklet"]
