"""Conv2d and Linear options resim does not model are modelled or refused in one line naming the
layer (issue #25 item 8): padding="same" with stride 1 is the numeric padding it amounts to;
uneven "same", non-zero padding modes and layers resim does not map are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from simulator.lowering.conv_options import UnmodelledLayer, check_modelled, zero_padding
from simulator.lowering.dataflow import layer_geometry
from simulator.lowering.layers import lower_network

REPO = Path(__file__).resolve().parents[1]


def net(conv: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.LazyLinear(3))


@pytest.mark.parametrize("kernel, dilation, padding", [(3, 1, (1, 1)), (5, 1, (2, 2)), (3, 2, (2, 2)),
                                                       ((3, 5), 1, (1, 2))])
def test_same_padding_is_modelled_as_the_numeric_padding_it_amounts_to(kernel: int | tuple[int, int], dilation: int,
                                                                       padding: tuple[int, int]) -> None:
    same = nn.Conv2d(2, 4, kernel, padding="same", dilation=dilation)
    numeric = nn.Conv2d(2, 4, kernel, padding=padding, dilation=dilation)
    assert zero_padding(same) == padding
    x = torch.randn(1, 2, 9, 9)
    assert same(x).shape == numeric(x).shape       # torch agrees: the same output size
    # The geometry the event model reads was (0, 0) before: a "same" conv read as unpadded.
    assert layer_geometry(nn.Sequential(same), (2, 9, 9))[0] == layer_geometry(nn.Sequential(numeric), (2, 9, 9))[0]
    assert zero_padding(nn.Conv2d(2, 4, 3, padding="valid")) == (0, 0)


def test_dilation_and_groups_are_modelled() -> None:
    model = nn.Sequential(nn.Conv2d(4, 8, 3, dilation=2, groups=2, padding=2))
    check_modelled(model)
    (layer,) = lower_network(model, (4, 9, 9))
    assert (layer.groups, layer.rows, layer.cols, layer.vectors) == (2, 2 * 9, 4, 81)
    assert layer_geometry(model, (4, 9, 9))[0].dilation == (2, 2)


@pytest.mark.parametrize("conv, words", [
    (nn.Conv2d(2, 4, 4, padding="same"), "layer 0 (Conv2d): padding='same' with kernel (4, 4) and dilation (1, 1) "
                                         "pads one side more than the other"),
    (nn.Conv2d(2, 4, 3, padding=1, padding_mode="circular"), "layer 0 (Conv2d): padding_mode='circular' is not "
                                                              "modelled"),
    (nn.Conv1d(2, 4, 3), "layer 0 (Conv1d): resim maps Conv2d and Linear layers only"),
    (nn.ConvTranspose2d(2, 4, 3), "layer 0 (ConvTranspose2d): resim maps Conv2d and Linear layers only"),
])
def test_what_is_not_modelled_is_refused_in_one_line_naming_the_layer(conv: nn.Module, words: str) -> None:
    with pytest.raises(UnmodelledLayer) as caught:
        lower_network(nn.Sequential(conv), (2, 8, 8))
    assert str(caught.value).startswith(words) and "\n" not in str(caught.value)


def test_the_api_refuses_in_one_line() -> None:
    import simulator

    model = net(nn.Conv2d(1, 4, 3, padding=1, padding_mode="reflect"))
    model(torch.zeros(1, 1, 8, 8))         # materialise the lazy layer
    with pytest.raises(simulator.ArgumentError) as caught:
        simulator.map_network(model, input_shape=(1, 8, 8))
    assert str(caught.value).startswith("model: layer 0 (Conv2d): padding_mode='reflect' is not modelled")


def test_the_command_line_prints_it_as_one_line() -> None:
    """The refusal is a user error: the command line prints its message, not a traceback."""
    from simulator.errors import describe, user_errors

    with pytest.raises(UnmodelledLayer) as caught:
        check_modelled(nn.Sequential(nn.Conv2d(2, 4, 3, padding_mode="replicate")))
    assert isinstance(caught.value, user_errors())
    assert describe(caught.value) == ("layer 0 (Conv2d): padding_mode='replicate' is not modelled: resim models "
                                      "zero padding (padding_mode='zeros')")
