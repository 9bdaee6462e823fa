"""Models (chapters 4-6): the frame CNN, the 1-D FCN temporal attention, pooling heads, the full network;
a ResNet-18 frame backbone (chapter 13); building a network from its settings and loading its weights
(:mod:`.build`, chapter 8)."""

from .build import build_model, export_weights, load_model, load_weights, model_config
from .checkpoint_file import read_checkpoint
from .fcn import FCNTemporalAttention, TemporalConv, Upsample1d, init_interpolation_, interp_kernel
from .frame_cnn import FrameCNN
from .masks import check_mask, mask_from_lengths, masked_activation, pad_sequences, sequence_lengths
from .net import BACKBONES, IDENTITY_INPUTS, UNIT_SCALE, VideoReIDNet, count_macs, identity_input, model_device
from .pooling import HEADS, AttentionPool, CombinedPool, MaxPool, MeanPool, OraclePool, make_head
from .resnet import RESNET18_URL, BasicBlock, ResNet18Frames, load_imagenet_weights
from .rnn import RCNPool, RNNTemporalAttention

__all__ = [
    "FrameCNN",
    "ResNet18Frames",
    "BasicBlock",
    "load_imagenet_weights",
    "RESNET18_URL",
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
    "OraclePool",
    "HEADS",
    "make_head",
    "VideoReIDNet",
    "BACKBONES",
    "IDENTITY_INPUTS",
    "UNIT_SCALE",
    "identity_input",
    "count_macs",
    "model_device",
    "check_mask",
    "sequence_lengths",
    "masked_activation",
    "mask_from_lengths",
    "pad_sequences",
    "model_config",
    "build_model",
    "load_weights",
    "load_model",
    "export_weights",
    "read_checkpoint",
]
