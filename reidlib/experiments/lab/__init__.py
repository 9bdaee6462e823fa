"""The lab (chapter 11): temporal heads trained on the frozen, cached frame features of persons the frame
CNN never saw, to convergence, in seconds on a CPU.

End to end, one CPU run of the paper's model takes minutes and stops long before it converges, so
a 10-split answer to "does the attention help?" costs hours. The lab separates the head from the
frame CNN: the CNN of a shipped model is frozen, its per-frame features of a disjoint population are
cached once (:mod:`.features`), and each head (with a per-frame linear adapter and the identity
classifier) is trained on them with the paper's losses until its loss stops improving
(:mod:`.train`), then tested with its own lambda and with stand-ins (:mod:`.run`).
``benchmarks/bench_lab.py`` runs it over 10 splits and writes ``reidlib/results/lab.json``.
"""

from .features import (
    CONDITIONS,
    HEAVY,
    HELD_OUT,
    LIGHT,
    PRIMARY,
    QUICK,
    LabFeatures,
    Population,
    Video,
    backbone,
    backbone_record,
    lab_features,
)
from .report import EXPLORATIONS, RESULTS, backbone_facts, explorations, load, save_results, table, table_of
from .run import ALL, EXPLORE, METHODS, Exploration, exploration, lab_config, label, run_method, test_head
from .train import LabConfig, LabNet, StopRule, train_head

__all__ = [
    "CONDITIONS",
    "HEAVY",
    "HELD_OUT",
    "LIGHT",
    "PRIMARY",
    "QUICK",
    "LabFeatures",
    "Population",
    "Video",
    "backbone",
    "lab_features",
    "backbone_record",
    "RESULTS",
    "EXPLORATIONS",
    "explorations",
    "backbone_facts",
    "load",
    "save_results",
    "table",
    "table_of",
    "METHODS",
    "ALL",
    "EXPLORE",
    "Exploration",
    "exploration",
    "label",
    "lab_config",
    "run_method",
    "test_head",
    "LabConfig",
    "LabNet",
    "StopRule",
    "train_head",
]
