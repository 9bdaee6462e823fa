"""Evaluation (chapter 9): features of whole videos, CMC, mAP (camera-aware for MARS), the 10-split protocol;
k-reciprocal re-ranking (chapter 13)."""

from .attention import attention_visibility
from .features import extract_features, flip_input, model_device, sequence_feature
from .metrics import cmc, distance_matrix, first_match_rank, mean_average_precision, rank_metrics
from .protocol import METRICS, RANKS, evaluate, evaluate_splits, evaluate_tracklets, format_table, summarize
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
    "flip_input",
    "model_device",
    "attention_visibility",
    "evaluate",
    "evaluate_tracklets",
    "evaluate_splits",
    "summarize",
    "format_table",
    "RANKS",
    "METRICS",
]
