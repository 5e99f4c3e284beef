"""MNSIM 2.0's `vgg16` layer list as a torch module, for the side-by-side comparison
(bench/peers/mnsim_compare.py, workload bench/peers/vgg16_mnsim.yaml).

MNSIM 2.0 (thu-nics/MNSIM-2.0 @ ca39ccb, MNSIM/Interface/network.py, get_net('vgg16')) describes
VGG-16 for CIFAR-10 as 13 3x3 convolutions (padding 1) of 64, 64 | 128, 128 | 256 x 3 | 512 x 3 |
512 x 3 channels, each followed by batch norm (inserted by get_net) and ReLU, max pools (2 x 2,
stride 2) after the 2nd, 4th, 7th and 10th convolution only, and one fully connected layer of
512 x 2 x 2 = 2048 -> classes. This module has the same layers in the same order, written here
from that description (no MNSIM code). resim's zoo `vgg16` differs: five pools and seed 001's
512-512-256-classes classifier.
"""

from __future__ import annotations

from torch import nn

CHANNELS = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
POOL_AFTER = (2, 4, 7, 10)          # 1-based indices of the convolutions followed by a max pool


def build(*, in_channels: int, num_classes: int, input_size: int) -> nn.Module:
    """MNSIM's VGG-16: needs 32 x 32 inputs (2 x 2 x 512 features before the classifier)."""
    if input_size != 32:
        raise ValueError(f"MNSIM's vgg16 is laid out for 32 x 32 inputs (got {input_size})")
    layers: list[tuple[str, nn.Module]] = []
    previous = in_channels
    for index, channels in enumerate(CHANNELS, start=1):
        layers += [(f"conv{index}", nn.Conv2d(previous, channels, 3, padding=1)),
                   (f"bn{index}", nn.BatchNorm2d(channels)), (f"relu{index}", nn.ReLU())]
        if index in POOL_AFTER:
            layers.append((f"pool{POOL_AFTER.index(index) + 1}", nn.MaxPool2d(2, 2)))
        previous = channels
    size = input_size // 2 ** len(POOL_AFTER)
    layers += [("flatten", nn.Flatten()), ("fc1", nn.Linear(previous * size * size, num_classes))]
    model = nn.Sequential()
    for name, module in layers:
        model.add_module(name, module)
    return model
