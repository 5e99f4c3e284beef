"""Model zoo: the networks of the research tables, for MNIST-size and CIFAR-size inputs.

Every builder takes the keyword-only arguments ``in_channels``, ``num_classes`` and
``input_size`` (the side of the square input) plus a few model-specific options, and returns
an ``nn.Module`` whose forward maps ``(N, in_channels, input_size, input_size)`` to
``(N, num_classes)``.

Layer names appear in reports and in checkpoint state dicts, so they are spelled out here
instead of being left to ``nn.Sequential`` indices:

* Conv2d layers are ``conv1``, ``conv2``, ... and Linear layers ``fc1``, ``fc2``, ... in
  forward order; the batch norm after ``convK`` is ``bnK`` and its activation ``reluK``.
  Classifier activations and dropouts are ``fc_reluK`` / ``fc_dropK`` after ``fcK``, max pools
  are ``poolK`` after the K-th stage, then ``avgpool`` and ``flatten``.
* Residual and Inception blocks are nested: ``layer2.0.conv1``, ``layer2.0.shortcut.conv``,
  ``a3.b2.conv1``. Inside a block the same ``convK``/``bnK``/``reluK`` scheme restarts at 1.
* Modules are registered in the order forward calls them, so ``named_modules()`` order equals
  call order: the forward hooks of the lowering stage record layers in that order.

Only Conv2d, Linear, BatchNorm2d, ReLU, pooling, Dropout, Flatten and Identity modules are used,
plus tensor addition and concatenation in forward, so hooks on Conv2d/Linear see every layer
that maps onto crossbars.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

__all__ = ["ZOO", "build_zoo_model", "zoo_names"]

_COMMON_ARGS = ("in_channels", "num_classes", "input_size")


def _check_common(in_channels: int, num_classes: int, input_size: int) -> None:
    """Reject non-positive or non-integer sizes before torch gives a less helpful error."""
    for arg, value in (
        ("in_channels", in_channels),
        ("num_classes", num_classes),
        ("input_size", input_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{arg} must be a positive integer, got {value!r}")


def _check_width(width: float) -> None:
    if not width > 0:
        raise ValueError(f"width must be a positive multiplier, got {width!r}")


def _check_dropout(dropout: float) -> None:
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")


def _scaled(channels: int, width: float) -> int:
    """Channel count under a width multiplier: rounded, but never below one channel."""
    return max(1, round(channels * width))


def _out_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Spatial output size of a floor-mode convolution or pooling (torch's formula)."""
    return (size + 2 * padding - kernel) // stride + 1


def _require_spatial(model: str, input_size: int, final_size: int) -> None:
    """Fail with a readable message when the feature map vanishes before the classifier."""
    if final_size < 1:
        raise ValueError(
            f"input_size={input_size} is too small for {model!r}: "
            "its feature map shrinks to nothing before the classifier"
        )


def _classifier(
    in_features: int, hidden: Sequence[int], num_classes: int, dropout: float, bias: bool = True
) -> list[tuple[str, nn.Module]]:
    """Flatten plus fc1..fcN; hidden layers get ``fc_reluK`` and, if dropout > 0, ``fc_dropK``."""
    layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
    features = in_features
    for index, width in enumerate(hidden, start=1):
        layers.append((f"fc{index}", nn.Linear(features, width, bias=bias)))
        layers.append((f"fc_relu{index}", nn.ReLU(inplace=False)))
        if dropout > 0:
            layers.append((f"fc_drop{index}", nn.Dropout(dropout)))
        features = width
    layers.append((f"fc{len(hidden) + 1}", nn.Linear(features, num_classes, bias=bias)))
    return layers


class _Chain(nn.Module):
    """Runs named children in registration order.

    Used instead of ``nn.Sequential(OrderedDict(...))`` because Sequential slicing rebuilds the
    subclass through ``__init__``, which the model classes below do not support.
    """

    def __init__(self, layers: Iterable[tuple[str, nn.Module]]) -> None:
        super().__init__()
        for name, layer in layers:
            self.add_module(name, layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():
            x = layer(x)
        return x


class LeNet5(_Chain):
    """LeNet-5 with ReLU and max pooling.

    On 28x28 MNIST conv1 pads by 2, as the classic LeNet-5 did to fit MNIST into its 32x32
    input, so fc1 sees 16*5*5 = 400 features and the weight shapes match the research tables:
    conv1 (6,1,5,5), conv2 (16,6,5,5), fc1 (120,400), fc2 (84,120), fc3 (10,84). Other sizes
    use no padding and fc1 takes whatever the second pool leaves (400 again at 32x32).
    """

    def __init__(self, *, in_channels: int, num_classes: int, input_size: int) -> None:
        padding = 2 if input_size == 28 else 0
        size = _out_size(input_size, 5, padding=padding) // 2
        size = _out_size(size, 5) // 2
        _require_spatial("lenet5", input_size, size)
        super().__init__(
            [
                ("conv1", nn.Conv2d(in_channels, 6, 5, padding=padding)),
                ("relu1", nn.ReLU(inplace=False)),
                ("pool1", nn.MaxPool2d(2)),
                ("conv2", nn.Conv2d(6, 16, 5)),
                ("relu2", nn.ReLU(inplace=False)),
                ("pool2", nn.MaxPool2d(2)),
                *_classifier(16 * size * size, (120, 84), num_classes, dropout=0.0),
            ]
        )


class AlexNet(_Chain):
    """The common CIFAR adaptation of AlexNet, with a narrower classifier.

    Keeps AlexNet's five conv widths (64, 192, 384, 256, 256), all 3x3 with padding 1. conv1
    has stride 2 and max pools (2x2) follow conv1, conv2 and conv5, so 32x32 shrinks to 2x2
    and fc1 sees 256*2*2 = 1024 features (256*1*1 at 28x28). The FC hidden layers are 1024
    wide rather than ImageNet's 4096: CIFAR does not need them, and a 4096 fc1/fc2 pair would
    dwarf the conv layers in a crossbar mapping study.
    """

    def __init__(
        self, *, in_channels: int, num_classes: int, input_size: int, dropout: float
    ) -> None:
        plan = ((64, 2, True), (192, 1, True), (384, 1, False), (256, 1, False), (256, 1, True))
        layers: list[tuple[str, nn.Module]] = []
        channels, size = in_channels, input_size
        pool_index = 0
        for index, (out, stride, pool) in enumerate(plan, start=1):
            layers.append((f"conv{index}", nn.Conv2d(channels, out, 3, stride, padding=1)))
            layers.append((f"relu{index}", nn.ReLU(inplace=False)))
            size = _out_size(size, 3, stride, padding=1)
            if pool:
                pool_index += 1
                layers.append((f"pool{pool_index}", nn.MaxPool2d(2)))
                size //= 2
            channels = out
        _require_spatial("alexnet", input_size, size)
        layers += _classifier(channels * size * size, (1024, 1024), num_classes, dropout)
        super().__init__(layers)


# Conv widths per block; a 2x2 max pool ends every block (Simonyan & Zisserman, configs A/B/D/E).
_VGG_BLOCKS: dict[int, tuple[tuple[int, ...], ...]] = {
    11: ((64,), (128,), (256, 256), (512, 512), (512, 512)),
    13: ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),
    16: ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
    19: ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4),
}


class VGG(_Chain):
    """VGG conv stack with the classifier of the research seeds.

    Features are the standard configs: 3x3 convs with padding 1 and a bias (kept even before
    batch norm, as torchvision's VGG does), a 2x2 max pool after each block. The pools use
    ``ceil_mode=True``: that changes nothing for 32x32 (32 -> 1) but keeps 28x28 MNIST alive
    through all five pools (28 -> 14 -> 7 -> 4 -> 2 -> 1) where floor mode would reach 0.
    ``avgpool`` (adaptive, to 1x1) then makes the classifier input 512 channels for any size.

    The classifier is 512 -> 512 -> 256 -> num_classes, as in the seed 001 tables, not the
    ImageNet 4096-wide one. ``width`` scales every conv and both hidden FC widths, so a narrow
    VGG can be trained on a CPU; at width 1.0 the shapes are exactly the seeds'.
    """

    def __init__(
        self,
        *,
        depth: int,
        batch_norm: bool,
        in_channels: int,
        num_classes: int,
        width: float,
        dropout: float,
    ) -> None:
        layers: list[tuple[str, nn.Module]] = []
        channels = in_channels
        conv_index = 0
        for block_index, block in enumerate(_VGG_BLOCKS[depth], start=1):
            for base in block:
                conv_index += 1
                out = _scaled(base, width)
                layers.append((f"conv{conv_index}", nn.Conv2d(channels, out, 3, padding=1)))
                if batch_norm:
                    layers.append((f"bn{conv_index}", nn.BatchNorm2d(out)))
                layers.append((f"relu{conv_index}", nn.ReLU(inplace=False)))
                channels = out
            layers.append((f"pool{block_index}", nn.MaxPool2d(2, ceil_mode=True)))
        layers.append(("avgpool", nn.AdaptiveAvgPool2d(1)))
        hidden = (_scaled(512, width), _scaled(256, width))
        layers += _classifier(channels, hidden, num_classes, dropout)
        super().__init__(layers)


class VGG8(_Chain):
    """DNN+NeuroSim's VGG8 for CIFAR-10, the network of its inference benchmarks.

    conv 128-128-M-256-256-M-512-512-M (3x3, padding 1, ReLU; 2x2 floor-mode max pools), then
    fc1 (512*4*4 = 8192 -> 1024, ReLU) and fc2 (1024 -> classes). As in NeuroSim's quantized
    layers there is no batch norm and no bias. fc1 takes whatever the third pool leaves (3x3 at
    28x28). ``width`` scales every conv and the hidden FC width.
    """

    _BLOCKS = ((128, 128), (256, 256), (512, 512))

    def __init__(
        self, *, in_channels: int, num_classes: int, input_size: int, width: float, dropout: float
    ) -> None:
        layers: list[tuple[str, nn.Module]] = []
        channels, size, index = in_channels, input_size, 0
        for block_index, block in enumerate(self._BLOCKS, start=1):
            for base in block:
                index += 1
                out = _scaled(base, width)
                layers.append((f"conv{index}", nn.Conv2d(channels, out, 3, padding=1, bias=False)))
                layers.append((f"relu{index}", nn.ReLU(inplace=False)))
                channels = out
            layers.append((f"pool{block_index}", nn.MaxPool2d(2)))
            size //= 2
        _require_spatial("vgg8", input_size, size)
        hidden = (_scaled(1024, width),)
        super().__init__(layers + _classifier(channels * size * size, hidden, num_classes, dropout, bias=False))


def vgg8(
    *, in_channels: int, num_classes: int, input_size: int, width: float = 1.0, dropout: float = 0.0
) -> nn.Module:
    """NeuroSim's VGG8; see :class:`VGG8`."""
    _check_common(in_channels, num_classes, input_size)
    _check_width(width)
    _check_dropout(dropout)
    return VGG8(in_channels=in_channels, num_classes=num_classes, input_size=input_size, width=width,
                dropout=dropout)


def _vgg_builder(depth: int, batch_norm: bool) -> Callable[..., nn.Module]:
    """One zoo builder per VGG depth and batch-norm choice, all sharing the VGG class."""
    name = f"vgg{depth}{'_bn' if batch_norm else ''}"

    def build(
        *,
        in_channels: int,
        num_classes: int,
        input_size: int,
        width: float = 1.0,
        dropout: float = 0.0,
    ) -> nn.Module:
        _check_common(in_channels, num_classes, input_size)
        _check_width(width)
        _check_dropout(dropout)
        return VGG(
            depth=depth,
            batch_norm=batch_norm,
            in_channels=in_channels,
            num_classes=num_classes,
            width=width,
            dropout=dropout,
        )

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"VGG-{depth}{' with batch norm' if batch_norm else ''}; see :class:`VGG`. "
        "``width`` scales channels, ``dropout`` follows each hidden FC layer."
    )
    return build


class BasicBlock(nn.Module):
    """Two 3x3 convs plus a shortcut; a 1x1 conv + BN shortcut where the shape changes.

    The projection shortcut is He et al.'s option B, used by both ResNet-18 and ResNet-20
    here. It is registered after ``conv2``/``bn2`` because forward calls it there.
    """

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU(inplace=False)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                OrderedDict(
                    conv=nn.Conv2d(in_planes, planes, 1, stride, bias=False),
                    bn=nn.BatchNorm2d(planes),
                )
            )
        else:
            self.shortcut = nn.Identity()
        self.relu2 = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class ResNet(_Chain):
    """CIFAR-style ResNet: 3x3 stem without max pool, stages ``layer1``.. of BasicBlocks.

    The first block of every stage but the first halves the spatial size. ``avgpool`` is
    adaptive, so any input size works, and ``fc1`` maps the last stage's channels to classes.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        num_classes: int,
        stage_planes: Sequence[int],
        stage_blocks: Sequence[int],
    ) -> None:
        stem = stage_planes[0]
        layers: list[tuple[str, nn.Module]] = [
            ("conv1", nn.Conv2d(in_channels, stem, 3, padding=1, bias=False)),
            ("bn1", nn.BatchNorm2d(stem)),
            ("relu1", nn.ReLU(inplace=False)),
        ]
        in_planes = stem
        for stage, (planes, blocks) in enumerate(zip(stage_planes, stage_blocks), start=1):
            stride = 1 if stage == 1 else 2
            stage_layers = []
            for block in range(blocks):
                stage_layers.append(BasicBlock(in_planes, planes, stride if block == 0 else 1))
                in_planes = planes
            layers.append((f"layer{stage}", nn.Sequential(*stage_layers)))
        layers += [
            ("avgpool", nn.AdaptiveAvgPool2d(1)),
            *_classifier(in_planes, (), num_classes, dropout=0.0),
        ]
        super().__init__(layers)


class MobileNetV1(_Chain):
    """MobileNet v1 for CIFAR (Howard et al. 2017, with CIFAR strides).

    A 3x3 stem conv (stride 1, 32 channels) is followed by 13 depthwise-separable pairs: an
    even-numbered depthwise 3x3 conv (``groups`` = channels) then an odd-numbered pointwise 1x1
    conv, each with BN and ReLU; so conv2/conv3 are the first pair, conv26/conv27 the last.
    The stride-2 pairs are those reaching 128, 256, 512 and 1024 channels, leaving 2x2 at
    32x32, then adaptive ``avgpool`` and ``fc1``. ``width`` is the paper's multiplier alpha.
    """

    # (pointwise output channels, depthwise stride) per separable pair.
    _PLAN: tuple[tuple[int, int], ...] = (
        (64, 1),
        (128, 2),
        (128, 1),
        (256, 2),
        (256, 1),
        (512, 2),
        *((512, 1),) * 5,
        (1024, 2),
        (1024, 1),
    )

    def __init__(self, *, in_channels: int, num_classes: int, width: float) -> None:
        stem = _scaled(32, width)
        layers: list[tuple[str, nn.Module]] = [
            ("conv1", nn.Conv2d(in_channels, stem, 3, padding=1, bias=False)),
            ("bn1", nn.BatchNorm2d(stem)),
            ("relu1", nn.ReLU(inplace=False)),
        ]
        channels, index = stem, 1
        for base, stride in self._PLAN:
            out = _scaled(base, width)
            for conv in (
                nn.Conv2d(channels, channels, 3, stride, padding=1, groups=channels, bias=False),
                nn.Conv2d(channels, out, 1, bias=False),
            ):
                index += 1
                layers.append((f"conv{index}", conv))
                layers.append((f"bn{index}", nn.BatchNorm2d(conv.out_channels)))
                layers.append((f"relu{index}", nn.ReLU(inplace=False)))
            channels = out
        layers += [
            ("avgpool", nn.AdaptiveAvgPool2d(1)),
            *_classifier(channels, (), num_classes, dropout=0.0),
        ]
        super().__init__(layers)


def _conv_bn_relu(
    in_planes: int, out_planes: int, kernel: int, start: int = 1
) -> list[tuple[str, nn.Module]]:
    """``convK``, ``bnK``, ``reluK`` for K = start: the unit every Inception branch chains."""
    return [
        (f"conv{start}", nn.Conv2d(in_planes, out_planes, kernel, padding=kernel // 2, bias=False)),
        (f"bn{start}", nn.BatchNorm2d(out_planes)),
        (f"relu{start}", nn.ReLU(inplace=False)),
    ]


class Inception(nn.Module):
    """Inception v1 module, CIFAR form: four branches concatenated along channels.

    ``b1`` is a 1x1 conv; ``b2`` a 1x1 reduction then a 3x3; ``b3`` a 1x1 reduction then two
    3x3 convs (standing in for the paper's 5x5, as in the widely used pytorch-cifar
    GoogLeNet); ``b4`` a 3x3 stride-1 max pool then a 1x1 projection.
    """

    def __init__(
        self,
        in_planes: int,
        n1x1: int,
        n3x3_reduce: int,
        n3x3: int,
        n5x5_reduce: int,
        n5x5: int,
        pool_planes: int,
    ) -> None:
        super().__init__()
        self.b1 = _Chain(_conv_bn_relu(in_planes, n1x1, 1))
        self.b2 = _Chain(
            _conv_bn_relu(in_planes, n3x3_reduce, 1) + _conv_bn_relu(n3x3_reduce, n3x3, 3, start=2)
        )
        self.b3 = _Chain(
            _conv_bn_relu(in_planes, n5x5_reduce, 1)
            + _conv_bn_relu(n5x5_reduce, n5x5, 3, start=2)
            + _conv_bn_relu(n5x5, n5x5, 3, start=3)
        )
        self.b4 = _Chain(
            [("pool", nn.MaxPool2d(3, stride=1, padding=1))]
            + _conv_bn_relu(in_planes, pool_planes, 1)
        )
        self.out_planes = n1x1 + n3x3 + n5x5 + pool_planes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


class GoogLeNet(_Chain):
    """GoogLeNet (Inception v1) for CIFAR: 3x3 stem to 192 channels, no early downsampling.

    Stages a3,b3 | pool3 | a4..e4 | pool4 | a5,b5 use the paper's branch widths; the 3x3
    stride-2 max pools take 32x32 to 8x8, then adaptive ``avgpool`` and ``fc1`` (1024 ->
    classes). There are no auxiliary classifiers, as in the CIFAR versions.
    """

    # name -> (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection); None marks a max pool.
    _PLAN: tuple[tuple[str, tuple[int, int, int, int, int, int] | None], ...] = (
        ("a3", (64, 96, 128, 16, 32, 32)),
        ("b3", (128, 128, 192, 32, 96, 64)),
        ("pool3", None),
        ("a4", (192, 96, 208, 16, 48, 64)),
        ("b4", (160, 112, 224, 24, 64, 64)),
        ("c4", (128, 128, 256, 24, 64, 64)),
        ("d4", (112, 144, 288, 32, 64, 64)),
        ("e4", (256, 160, 320, 32, 128, 128)),
        ("pool4", None),
        ("a5", (256, 160, 320, 32, 128, 128)),
        ("b5", (384, 192, 384, 48, 128, 128)),
    )

    def __init__(self, *, in_channels: int, num_classes: int) -> None:
        layers = _conv_bn_relu(in_channels, 192, 3)
        channels = 192
        for name, widths in self._PLAN:
            if widths is None:
                layers.append((name, nn.MaxPool2d(3, stride=2, padding=1)))
                continue
            block = Inception(channels, *widths)
            layers.append((name, block))
            channels = block.out_planes
        layers += [
            ("avgpool", nn.AdaptiveAvgPool2d(1)),
            *_classifier(channels, (), num_classes, dropout=0.0),
        ]
        super().__init__(layers)


def lenet5(*, in_channels: int, num_classes: int, input_size: int) -> nn.Module:
    """LeNet-5; see :class:`LeNet5` for the MNIST padding rule."""
    _check_common(in_channels, num_classes, input_size)
    return LeNet5(in_channels=in_channels, num_classes=num_classes, input_size=input_size)


def alexnet(
    *, in_channels: int, num_classes: int, input_size: int, dropout: float = 0.0
) -> nn.Module:
    """CIFAR AlexNet; see :class:`AlexNet`. ``dropout`` follows each hidden FC layer."""
    _check_common(in_channels, num_classes, input_size)
    _check_dropout(dropout)
    return AlexNet(
        in_channels=in_channels, num_classes=num_classes, input_size=input_size, dropout=dropout
    )


def resnet18(
    *, in_channels: int, num_classes: int, input_size: int, width: float = 1.0
) -> nn.Module:
    """CIFAR ResNet-18: stages of 2 blocks at 64/128/256/512 channels (times ``width``)."""
    _check_common(in_channels, num_classes, input_size)
    _check_width(width)
    return ResNet(
        in_channels=in_channels,
        num_classes=num_classes,
        stage_planes=[_scaled(c, width) for c in (64, 128, 256, 512)],
        stage_blocks=(2, 2, 2, 2),
    )


def resnet20(
    *, in_channels: int, num_classes: int, input_size: int, width: float = 1.0
) -> nn.Module:
    """He et al.'s CIFAR ResNet-20: stages of 3 blocks at 16/32/64 channels (times ``width``)."""
    _check_common(in_channels, num_classes, input_size)
    _check_width(width)
    return ResNet(
        in_channels=in_channels,
        num_classes=num_classes,
        stage_planes=[_scaled(c, width) for c in (16, 32, 64)],
        stage_blocks=(3, 3, 3),
    )


def mobilenet(
    *, in_channels: int, num_classes: int, input_size: int, width: float = 1.0
) -> nn.Module:
    """CIFAR MobileNet v1; see :class:`MobileNetV1`."""
    _check_common(in_channels, num_classes, input_size)
    _check_width(width)
    return MobileNetV1(in_channels=in_channels, num_classes=num_classes, width=width)


def googlenet(*, in_channels: int, num_classes: int, input_size: int) -> nn.Module:
    """CIFAR GoogLeNet; see :class:`GoogLeNet`."""
    _check_common(in_channels, num_classes, input_size)
    return GoogLeNet(in_channels=in_channels, num_classes=num_classes)


# Same order as simulator.network.names.ZOO_MODEL_NAMES, which tests/test_zoo.py checks.
ZOO: dict[str, Callable[..., nn.Module]] = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "vgg8": vgg8,
    **{f"vgg{depth}": _vgg_builder(depth, batch_norm=False) for depth in _VGG_BLOCKS},
    **{f"vgg{depth}_bn": _vgg_builder(depth, batch_norm=True) for depth in _VGG_BLOCKS},
    "resnet18": resnet18,
    "resnet20": resnet20,
    "mobilenet": mobilenet,
    "googlenet": googlenet,
}


def zoo_names() -> list[str]:
    """The zoo's model names, in registration order."""
    return list(ZOO)


def build_zoo_model(
    name: str, *, in_channels: int, num_classes: int, input_size: int, **kwargs: object
) -> nn.Module:
    """Build zoo model ``name``; ``kwargs`` are its options (e.g. ``width``, ``dropout``).

    Options are checked against the builder's signature here so that a workload file with a
    misspelt option fails with the model's name and its accepted options, not a bare
    "unexpected keyword argument".
    """
    if name not in ZOO:
        raise ValueError(f"unknown zoo model {name!r}; allowed names: {', '.join(ZOO)}")
    builder = ZOO[name]
    options = [p for p in inspect.signature(builder).parameters if p not in _COMMON_ARGS]
    unknown = sorted(set(kwargs) - set(options))
    if unknown:
        accepted = ", ".join(options) if options else "no options"
        raise TypeError(
            f"zoo model {name!r} got unknown option(s) {', '.join(unknown)}; "
            f"it accepts: {accepted}"
        )
    return builder(
        in_channels=in_channels, num_classes=num_classes, input_size=input_size, **kwargs
    )
