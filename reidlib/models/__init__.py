"""Models (chapters 4-6): the frame CNN, the 1-D FCN temporal attention, pooling heads, the full network."""

from .fcn import FCNTemporalAttention, TemporalConv, Upsample1d, init_interpolation_, interp_kernel
from .frame_cnn import INPUT_SIZE, FrameCNN
from .masks import check_sequence, mask_from_lengths, pad_sequences
from .net import VideoReIDNet, count_macs
from .pooling import HEADS, AttentionPool, CombinedPool, MaxPool, MeanPool, make_head
from .rnn import RCNPool, RNNTemporalAttention

__all__ = [
    "FrameCNN",
    "INPUT_SIZE",
    "FCNTemporalAttention",
    "TemporalConv",
    "Upsample1d",
    "interp_kernel",
    "init_interpolation_",
    "RNNTemporalAttention",
    "RCNPool",
    "MeanPool",
    "MaxPool",
    "AttentionPool",
    "CombinedPool",
    "HEADS",
    "make_head",
    "VideoReIDNet",
    "count_macs",
    "check_sequence",
    "mask_from_lengths",
    "pad_sequences",
]
