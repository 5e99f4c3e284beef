"""Tests of the model zoo: shapes of the research tables, stable names, argument checking."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from simulator.network.names import ZOO_MODEL_NAMES
from simulator.network.zoo import ZOO, build_zoo_model, zoo_names

MNIST = {"in_channels": 1, "input_size": 28}
CIFAR = {"in_channels": 3, "input_size": 32}

# Every module type the lowering stage may meet; anything else would hide work from its hooks.
ALLOWED_MODULES = (
    nn.Conv2d,
    nn.Linear,
    nn.BatchNorm2d,
    nn.ReLU,
    nn.MaxPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Dropout,
    nn.Flatten,
    nn.Identity,
)

WIDTH_MODELS = [n for n in zoo_names() if n.startswith(("vgg", "resnet", "mobilenet"))]


def weight_shapes(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """(name, weight shape) of every Conv2d/Linear layer, in module order."""
    return [
        (name, tuple(module.weight.shape))
        for name, module in model.named_modules()
        if isinstance(module, (nn.Conv2d, nn.Linear))
    ]


def vgg_expected(convs: list[tuple[int, int]], num_classes: int = 10) -> list[tuple[int, ...]]:
    """Seed 001 VGG shapes: 3x3 convs, then the 512 -> 512 -> 256 -> classes classifier."""
    return [(o, i, 3, 3) for o, i in convs] + [(512, 512), (256, 512), (num_classes, 256)]


VGG16_CONVS = (
    [(64, 3), (64, 64), (128, 64), (128, 128), (256, 128)]
    + [(256, 256)] * 2
    + [(512, 256)]
    + [(512, 512)] * 5
)
VGG19_CONVS = (
    [(64, 3), (64, 64), (128, 64), (128, 128), (256, 128)]
    + [(256, 256)] * 3
    + [(512, 256)]
    + [(512, 512)] * 7
)


def test_zoo_names_match_the_torch_free_list() -> None:
    assert zoo_names() == list(ZOO) == list(ZOO_MODEL_NAMES)


@pytest.mark.parametrize("num_classes", [10, 100])
@pytest.mark.parametrize("data", [MNIST, CIFAR], ids=["mnist", "cifar"])
@pytest.mark.parametrize("name", zoo_names())
def test_forward_shape(name: str, data: dict[str, int], num_classes: int) -> None:
    model = build_zoo_model(name, num_classes=num_classes, **data).eval()
    x = torch.randn(2, data["in_channels"], data["input_size"], data["input_size"])
    with torch.no_grad():
        assert model(x).shape == (2, num_classes)


@pytest.mark.parametrize("name", zoo_names())
def test_smallest_supported_input(name: str) -> None:
    model = build_zoo_model(name, in_channels=2, num_classes=5, input_size=16).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 2, 16, 16)).shape == (2, 5)


@pytest.mark.parametrize("name", ["lenet5", "alexnet"])
def test_too_small_input_is_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="too small"):
        build_zoo_model(name, in_channels=1, num_classes=10, input_size=8)


@pytest.mark.parametrize(
    ("name", "convs"), [("vgg16", VGG16_CONVS), ("vgg19", VGG19_CONVS)], ids=["vgg16", "vgg19"]
)
@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
def test_vgg_seed_weight_shapes(name: str, convs: list[tuple[int, int]], batch_norm: bool) -> None:
    model = build_zoo_model(name + ("_bn" if batch_norm else ""), num_classes=10, **CIFAR)
    convs_names = [f"conv{i}" for i in range(1, len(convs) + 1)]
    assert weight_shapes(model) == list(
        zip(convs_names + ["fc1", "fc2", "fc3"], vgg_expected(convs), strict=True)
    )


def test_lenet5_mnist_weight_shapes() -> None:
    model = build_zoo_model("lenet5", num_classes=10, **MNIST)
    assert weight_shapes(model) == [
        ("conv1", (6, 1, 5, 5)),
        ("conv2", (16, 6, 5, 5)),
        ("fc1", (120, 400)),
        ("fc2", (84, 120)),
        ("fc3", (10, 84)),
    ]


def test_lenet5_cifar_also_feeds_400_features() -> None:
    model = build_zoo_model("lenet5", num_classes=10, **CIFAR)
    assert dict(weight_shapes(model))["fc1"] == (120, 400)


def test_resnet18_seed_weight_shapes() -> None:
    shapes = weight_shapes(build_zoo_model("resnet18", num_classes=10, **CIFAR))
    assert shapes[:7] == [
        ("conv1", (64, 3, 3, 3)),
        ("layer1.0.conv1", (64, 64, 3, 3)),
        ("layer1.0.conv2", (64, 64, 3, 3)),
        ("layer1.1.conv1", (64, 64, 3, 3)),
        ("layer1.1.conv2", (64, 64, 3, 3)),
        ("layer2.0.conv1", (128, 64, 3, 3)),
        ("layer2.0.conv2", (128, 128, 3, 3)),
    ]
    assert ("layer2.0.shortcut.conv", (128, 64, 1, 1)) in shapes
    assert shapes[-1] == ("fc1", (10, 512))
    assert len(shapes) == 1 + 16 + 3 + 1


def test_resnet20_layer_count() -> None:
    shapes = weight_shapes(build_zoo_model("resnet20", num_classes=10, **CIFAR))
    assert len([n for n, _ in shapes if ".shortcut." not in n]) == 20
    assert shapes[-1] == ("fc1", (10, 64))


def test_mobilenet_depthwise_layers() -> None:
    model = build_zoo_model("mobilenet", num_classes=10, **CIFAR)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    depthwise = [c for c in convs if c.groups > 1]
    assert len(convs) == 27 and len(depthwise) == 13
    assert all(c.groups == c.in_channels == c.out_channels for c in depthwise)
    assert model.get_submodule("fc1").in_features == 1024


def test_googlenet_inception_names() -> None:
    names = [n for n, _ in weight_shapes(build_zoo_model("googlenet", num_classes=10, **CIFAR))]
    assert names[:8] == [
        "conv1",
        "a3.b1.conv1",
        "a3.b2.conv1",
        "a3.b2.conv2",
        "a3.b3.conv1",
        "a3.b3.conv2",
        "a3.b3.conv3",
        "a3.b4.conv1",
    ]
    assert names[-1] == "fc1"
    assert build_zoo_model("googlenet", num_classes=10, **CIFAR).get_submodule(
        "fc1"
    ).in_features == 1024


@pytest.mark.parametrize("name", zoo_names())
def test_names_are_stable_and_readable(name: str) -> None:
    first = build_zoo_model(name, num_classes=10, **CIFAR)
    second = build_zoo_model(name, num_classes=10, **CIFAR)
    assert list(first.state_dict()) == list(second.state_dict())
    assert [n for n, _ in first.named_modules()] == [n for n, _ in second.named_modules()]
    for layer, _ in weight_shapes(first):
        parts = layer.split(".")
        assert all(parts), layer
        assert not parts[0].isdigit() and not parts[-1].isdigit(), layer
    top_level = [n for n, m in first.named_children() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert top_level and all(re.fullmatch(r"(conv|fc)[1-9]\d*", n) for n in top_level)
    linears = [n for n, m in first.named_modules() if isinstance(m, nn.Linear)]
    assert linears == [f"fc{i}" for i in range(1, len(linears) + 1)]


@pytest.mark.parametrize("name", zoo_names())
def test_only_hookable_modules_in_call_order(name: str) -> None:
    model = build_zoo_model(name, num_classes=10, **MNIST).eval()
    for module in model.modules():
        if not list(module.children()):
            assert isinstance(module, ALLOWED_MODULES), type(module)
        if isinstance(module, nn.ReLU):
            assert not module.inplace
    called: list[str] = []
    handles = [
        module.register_forward_hook(lambda *_, n=n: called.append(n))
        for n, module in model.named_modules()
        if isinstance(module, (nn.Conv2d, nn.Linear))
    ]
    with torch.no_grad():
        model(torch.randn(2, 1, 28, 28))
    for handle in handles:
        handle.remove()
    assert called == [n for n, _ in weight_shapes(model)]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", WIDTH_MODELS)
def test_width_reduces_parameters(name: str) -> None:
    full = build_zoo_model(name, num_classes=10, **CIFAR)
    narrow = build_zoo_model(name, num_classes=10, width=0.25, **CIFAR)
    assert count_parameters(narrow) < count_parameters(full) / 4
    with torch.no_grad():
        assert narrow.eval()(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_narrow_vgg_scales_classifier() -> None:
    model = build_zoo_model("vgg11", num_classes=10, width=0.5, **CIFAR)
    assert [s for n, s in weight_shapes(model) if n.startswith("fc")] == [
        (256, 256),
        (128, 256),
        (10, 128),
    ]


def test_dropout_option_adds_dropout_without_changing_weights() -> None:
    plain = build_zoo_model("vgg11", num_classes=10, **CIFAR)
    dropped = build_zoo_model("vgg11", num_classes=10, dropout=0.5, **CIFAR)
    assert list(plain.state_dict()) == list(dropped.state_dict())
    assert [n for n, m in dropped.named_modules() if isinstance(m, nn.Dropout)] == [
        "fc_drop1",
        "fc_drop2",
    ]


def test_unknown_model_lists_allowed_names() -> None:
    with pytest.raises(ValueError, match="resnet99") as error:
        build_zoo_model("resnet99", num_classes=10, **CIFAR)
    assert all(name in str(error.value) for name in zoo_names())


@pytest.mark.parametrize(("name", "option"), [("lenet5", "width"), ("vgg16", "widht")])
def test_unknown_option_is_named(name: str, option: str) -> None:
    with pytest.raises(TypeError, match=f"{name}.*{option}"):
        build_zoo_model(name, num_classes=10, **CIFAR, **{option: 0.5})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"in_channels": 0, "num_classes": 10, "input_size": 32},
        {"in_channels": 3, "num_classes": 0, "input_size": 32},
        {"in_channels": 3, "num_classes": 10, "input_size": 32.0},
        {"in_channels": 3, "num_classes": 10, "input_size": 32, "width": 0.0},
        {"in_channels": 3, "num_classes": 10, "input_size": 32, "dropout": 1.0},
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        build_zoo_model("vgg11", **kwargs)  # type: ignore[arg-type]
