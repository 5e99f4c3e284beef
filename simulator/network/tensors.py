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


def accuracy_on_test_set(model: nn.Module, arrays: Arrays, batch_size: int, *, progress: bool = False) -> float:
    """Top-1 accuracy of `model` on the data set's test images; `progress` shows how many are done
    (a bar on a terminal, else a plain line every few seconds)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from simulator.progress import progress_bar

    tensors = tensors_of(arrays)
    with progress_bar(TextColumn("accuracy"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      disable=not progress, transient=True) as bar:
        task = bar.add_task("accuracy", total=len(tensors.y_test), unit="images")
        return evaluate(model, tensors.x_test, tensors.y_test, batch_size,
                        on_batch=lambda images: bar.advance(task, images))
