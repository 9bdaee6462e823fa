"""Checks for the exercises of every chapter: ``check_*`` functions give a friendly verdict.

Each check takes the student's function (not its result), calls it on cases whose
answers are known from a formula or a hand computation, prints a green tick when
all agree, and otherwise raises :class:`CheckFailed` saying what was expected and
what came back. Checks are grouped by chapter in the submodules ``ch01`` ...
and re-exported here.
"""

from ._core import CheckFailed
from .ch01 import check_pairwise_distances, check_rank_gallery
from .ch02 import check_sample_window, check_sort_frames, check_split_persons
from .ch03 import check_dense_lk, check_image_gradients, check_lk_pyramid, check_lk_solve, check_structure_tensor
from .ch04 import check_conv_cost, check_output_size
from .ch05 import check_bilinear_weight, check_fcn_attention, check_receptive_field
from .ch06 import check_masked_attention_pool, check_masked_mean, check_masked_softmax
from .ch07 import check_siamese_loss, check_squared_hinge
from .ch08 import check_checkpoint, check_lr_schedule
from .ch09 import check_cmc, check_mean_average_precision, check_paired_difference
from .ch10 import check_least_trusted, check_pearson
from .ch11 import check_fcn_macs, check_lstm_macs, check_paired_interval
from .ch12 import check_ilidsvid_path, check_training_hours
from .ch13 import check_batch_hard, check_camera_aware_cmc, check_k_reciprocal

__all__ = ["CheckFailed", "check_rank_gallery", "check_pairwise_distances"]
__all__ += ["check_sort_frames", "check_split_persons", "check_sample_window"]  # chapter 2
__all__ += ["check_lk_solve", "check_structure_tensor"]  # chapter 3
__all__ += ["check_image_gradients", "check_dense_lk", "check_lk_pyramid"]  # assignment A1
__all__ += ["check_output_size", "check_conv_cost"]  # chapter 4
__all__ += ["check_bilinear_weight", "check_receptive_field", "check_fcn_attention"]  # chapter 5
__all__ += ["check_masked_mean", "check_masked_attention_pool", "check_masked_softmax"]  # chapter 6
__all__ += ["check_squared_hinge", "check_siamese_loss"]  # chapter 7
__all__ += ["check_lr_schedule", "check_checkpoint"]  # chapter 8
__all__ += ["check_cmc", "check_mean_average_precision", "check_paired_difference"]  # chapter 9, A3
__all__ += ["check_least_trusted", "check_pearson"]  # chapter 10
__all__ += ["check_fcn_macs", "check_lstm_macs", "check_paired_interval"]  # chapter 11
__all__ += ["check_ilidsvid_path", "check_training_hours"]  # chapter 12
__all__ += ["check_batch_hard", "check_camera_aware_cmc", "check_k_reciprocal"]  # chapter 13
