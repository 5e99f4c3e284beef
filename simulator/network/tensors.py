"""The data set as the network sees it: normalised tensors, converted once per loaded data set."""

from __future__ import annotations

import functools

from torch import nn

from simulator.data.datasets import Arrays
from simulator.network.train import TensorData, evaluate, to_tensors


@functools.lru_cache(maxsize=1)
def tensors_of(arrays: Arrays) -> TensorData:
    """The data set as normalised tensors: training, evaluation and the fault study of one run
    share them (CIFAR-10 is 0.6 GB as float)."""
    return to_tensors(arrays)


def accuracy_on_test_set(model: nn.Module, arrays: Arrays, batch_size: int) -> float:
    """Top-1 accuracy of `model` on the data set's test images."""
    tensors = tensors_of(arrays)
    return evaluate(model, tensors.x_test, tensors.y_test, batch_size)
