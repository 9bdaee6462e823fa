"""Evaluation (chapter 9): features of whole videos, CMC, mAP (camera-aware for MARS), the protocol
of one split, and k-reciprocal re-ranking (chapter 13).

Training a fresh model on each of the ten splits (the paper's protocol) is an experiment:
:func:`reidlib.experiments.evaluate_splits`.
"""

from .attention import LAMBDAS, attention_visibility, lambda_ablation, lambda_variants
from .features import extract_features, frame_features, sequence_feature
from .metrics import cmc, distance_matrix, first_match_rank, mean_average_precision, rank_metrics
from .protocol import METRICS, RANKS, evaluate, evaluate_tracklets, format_table, rank_features, summarize
from .reranking import rerank

__all__ = [
    "cmc",
    "distance_matrix",
    "first_match_rank",
    "mean_average_precision",
    "rank_metrics",
    "rerank",
    "extract_features",
    "sequence_feature",
    "attention_visibility",
    "frame_features",
    "lambda_ablation",
    "lambda_variants",
    "LAMBDAS",
    "evaluate",
    "evaluate_tracklets",
    "rank_features",
    "summarize",
    "format_table",
    "RANKS",
    "METRICS",
]
