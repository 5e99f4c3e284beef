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


# Training images a study that trains nothing still reads: the first ones calibrate the bit-true
# emulation's converter ranges (simulator.faults.bit_true.CALIBRATION_IMAGES) and the measured DAC
# activity's input scales.
CALIBRATION_HEAD = 512


@functools.lru_cache(maxsize=1)
def test_tensors_of(arrays: Arrays) -> TensorData:
    """The test split as normalised tensors, and of the training split only its first
    CALIBRATION_HEAD images: what the accuracy pass and the fault study read when nothing trains
    (normalising all of CIFAR-10's training images took a second of a hardware run, issue #25)."""
    import dataclasses

    head = dataclasses.replace(arrays, x_train=arrays.x_train[:CALIBRATION_HEAD],
                               y_train=arrays.y_train[:CALIBRATION_HEAD])
    return to_tensors(head)


def accuracy_on_test_set(model: nn.Module, arrays: Arrays, batch_size: int, *, progress: bool = False) -> float:
    """Top-1 accuracy of `model` on the data set's test images; `progress` shows how many are done
    (a bar on a terminal, else a plain line every few seconds)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from simulator.progress import progress_bar

    tensors = test_tensors_of(arrays)
    with progress_bar(TextColumn("accuracy"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      disable=not progress, transient=True) as bar:
        task = bar.add_task("accuracy", total=len(tensors.y_test), unit="images")
        return evaluate(model, tensors.x_test, tensors.y_test, batch_size,
                        on_batch=lambda images: bar.advance(task, images))
