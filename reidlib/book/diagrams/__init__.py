"""The book's figures that are drawn, not measured: concept diagrams and the plots of chapters 5-13.

* :mod:`~reidlib.book.diagrams.concepts`: a figure per idea, shown before the code that implements it
  (the 1-D FCN of chapter 5, the Siamese pipeline and pair sampling of chapter 7, the CMC curve of
  chapter 9, PK batches of chapter 13);
* :mod:`~reidlib.book.diagrams.charts`: the plotting code of the chapters' own runs, so that a cell shows
  the idea and one call, not matplotlib's plumbing.

Colours come from the book's one palette (:mod:`reidlib.book.palette`, Okabe and Ito's colours), which
readers with any common colour vision deficiency can tell apart.
"""

from .. import palette
from ..palette import PALETTE, PERSONS, SAME, WRONG
from .charts import (
    bad_frame_scores,
    bar_examples,
    cmc_curves,
    pair_distances,
    pooling_under_occlusion,
    ranked_gallery,
    segmentation_examples,
    sigmoid_vs_softmax,
    training_curves,
    upsampling_1d,
    video_as_image,
)
from .concepts import cmc_concept, fcn_1d, pair_sampling, pk_batch, siamese_pipeline

__all__ = ["palette", "PALETTE", "PERSONS", "SAME", "WRONG", "charts", "concepts"]
__all__ += ["fcn_1d", "siamese_pipeline", "pair_sampling", "cmc_concept", "pk_batch"]
__all__ += ["upsampling_1d", "bar_examples", "segmentation_examples", "video_as_image", "bad_frame_scores"]
__all__ += ["sigmoid_vs_softmax", "pooling_under_occlusion", "training_curves", "pair_distances"]
__all__ += ["cmc_curves", "ranked_gallery"]
