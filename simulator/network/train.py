"""Training and evaluation of a workload's network on in-memory tensors.

Whole data sets fit in memory (CIFAR-10 as float32 is 0.6 GB), so batches are sliced from one
tensor instead of going through a DataLoader: on 2 cores the worker processes of a DataLoader
cost more than they save.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from simulator.config.workload import AugmentSpec, TrainSpec
from simulator.data.datasets import Arrays
from simulator.pruning.masks import Masks, MaskedTraining


@dataclass
class TensorData:
    """A data set as normalised NCHW float tensors plus int64 labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def to_tensors(arrays: Arrays) -> TensorData:
    """uint8 NHWC arrays -> float NCHW tensors normalised with the data set's mean and std."""
    mean = torch.tensor(arrays.spec.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(arrays.spec.std, dtype=torch.float32).view(1, -1, 1, 1)

    def images(x: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float().div_(255.0)
        return t.sub_(mean).div_(std).contiguous()

    def labels(y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(y, dtype=np.int64))

    return TensorData(images(arrays.x_train), labels(arrays.y_train),
                      images(arrays.x_test), labels(arrays.y_test))


@dataclass
class EpochRecord:
    """Figures of one training epoch."""

    epoch: int
    lr: float
    train_loss: float
    train_accuracy: float
    test_accuracy: float
    seconds: float


@dataclass
class TrainResult:
    """What a training run produced besides the weights."""

    history: list[EpochRecord] = field(default_factory=list)
    images_per_second: float = 0.0

    @property
    def test_accuracy(self) -> float | None:
        return self.history[-1].test_accuracy if self.history else None


def make_optimizer(model: nn.Module, recipe: TrainSpec) -> torch.optim.Optimizer:
    """The recipe's optimizer over all parameters."""
    if recipe.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=recipe.lr, betas=(recipe.momentum, 0.999),
                                weight_decay=recipe.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                           nesterov=recipe.nesterov, weight_decay=recipe.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, recipe: TrainSpec,
                   steps_per_epoch: int) -> tuple[torch.optim.lr_scheduler.LRScheduler | None, bool]:
    """The recipe's schedule and whether it steps per batch (True) or per epoch (False)."""
    if recipe.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, recipe.step_size, recipe.gamma), False
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(recipe.epochs, 1)), False
    if recipe.schedule == "onecycle":
        total = max(recipe.epochs * steps_per_epoch, 1)
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe.lr, total_steps=total), True
    return None, False


def augment(batch: torch.Tensor, spec: AugmentSpec, generator: torch.Generator) -> torch.Tensor:
    """Random crop after zero padding and random horizontal flip, one draw per image."""
    if spec.crop_padding:
        pad = spec.crop_padding
        n, _, h, w = batch.shape
        padded = nn.functional.pad(batch, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
        rows = (dy.view(n, 1) + torch.arange(h).view(1, h)).view(n, 1, h, 1)
        cols = (dx.view(n, 1) + torch.arange(w).view(1, w)).view(n, 1, 1, w)
        batch = padded[torch.arange(n).view(n, 1, 1, 1), torch.arange(batch.shape[1]).view(1, -1, 1, 1),
                       rows, cols]
    if spec.horizontal_flip:
        flip = torch.rand(batch.shape[0], generator=generator) < 0.5
        batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(3), batch)
    return batch


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy of `model` on (x, y), in [0, 1]."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(x), batch_size):
        logits = model(x[start:start + batch_size])
        correct += int((logits.argmax(1) == y[start:start + batch_size]).sum())
    model.train(was_training)
    return correct / max(len(x), 1)


def train(model: nn.Module, recipe: TrainSpec, data: TensorData, seed: int,
          progress: bool = True, *, masks: Masks | None = None,
          regularizer: Callable[[nn.Module], torch.Tensor] | None = None,
          on_step: Callable[[int], None] | None = None, label: str = "") -> TrainResult:
    """Train `model` in place with `recipe`; every random draw comes from `seed`.

    `masks` keep pruned weights at zero; `regularizer(model)` is added to the loss (group lasso);
    `on_step(iteration)` runs after every optimizer step (late-rewinding snapshots)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    generator = torch.Generator().manual_seed(seed)
    optimizer = make_optimizer(model, recipe)
    n = len(data.x_train)
    steps = math.ceil(n / recipe.batch_size)
    scheduler, per_batch = make_scheduler(optimizer, recipe, steps)
    loss_fn = nn.CrossEntropyLoss()
    result = TrainResult()
    seen, busy = 0, 0.0
    columns = [TextColumn(f"[bold]{label}epoch {{task.fields[epoch]}}"), BarColumn(), TextColumn("{task.completed}/{task.total} batches"),
               TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.2%}"),
               TimeElapsedColumn(), TimeRemainingColumn()]
    iteration = 0
    with Progress(*columns, disable=not progress, transient=False) as bar, MaskedTraining(model, masks) as masking:
        for epoch in range(1, recipe.epochs + 1):
            task = bar.add_task("train", total=steps, epoch=f"{epoch}/{recipe.epochs}", loss=0.0, acc=0.0)
            model.train()
            order = torch.randperm(n, generator=generator)
            total_loss, correct, start_time = 0.0, 0, time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            for step in range(steps):
                index = order[step * recipe.batch_size:(step + 1) * recipe.batch_size]
                x = augment(data.x_train[index], recipe.augment, generator)
                y = data.y_train[index]
                logits = model(x)
                loss = loss_fn(logits, y)
                total = loss + regularizer(model) if regularizer is not None else loss
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                optimizer.step()
                masking.after_step()
                iteration += 1
                if on_step is not None:
                    on_step(iteration)
                if scheduler is not None and per_batch:
                    scheduler.step()
                total_loss += loss.item() * len(index)
                correct += int((logits.argmax(1) == y).sum())
                done = (step + 1) * recipe.batch_size
                bar.update(task, advance=1, loss=total_loss / min(done, n), acc=correct / min(done, n))
            busy += time.perf_counter() - start_time
            seen += n
            if scheduler is not None and not per_batch:
                scheduler.step()
            test_acc = evaluate(model, data.x_test, data.y_test, recipe.eval_batch_size)
            result.history.append(EpochRecord(epoch, lr, total_loss / n, correct / n, test_acc,
                                              time.perf_counter() - start_time))
            if progress:
                bar.console.print(f"{label}epoch {epoch}: loss {total_loss / n:.4f}, "
                                  f"train {correct / n:.2%}, test {test_acc:.2%}")
    result.images_per_second = seen / busy if busy else 0.0
    return result
