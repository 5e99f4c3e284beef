"""Training and evaluation of a workload's network on in-memory tensors, on the CPU or a CUDA GPU.

Whole data sets fit in memory (CIFAR-10 as float32 is 0.6 GB), so batches are sliced from one
tensor instead of going through a DataLoader: on 2 cores the worker processes of a DataLoader
cost more than they save, and on a GPU the whole set sits in device memory, so augmentation runs
there and no batch crosses the bus.

Every random draw (data order, crop offsets, flips, which images are JPEG re-encoded) comes from
one CPU generator and only the drawn indices move to the device, so a recipe makes the same
choices on the CPU and on CUDA and the weights differ by floating-point rounding alone: the
device is therefore not part of a checkpoint's key, while mixed precision, which changes the
arithmetic, is (TrainSpec's dump).
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import get_args

import numpy as np
import torch
from torch import nn

from simulator.config.workload import AugmentSpec, TrainSpec
from simulator.data.datasets import Arrays
from simulator.pruning.masks import MaskedTraining, Masks


@dataclass
class TensorData:
    """A data set as normalised NCHW float tensors plus int64 labels, and the per-channel mean
    and std (of images scaled to [0, 1]) they were normalised with; None where unknown."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None


def _normalise(x: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 NHWC images -> float32 NCHW tensor, (x / 255 - mean) / std per channel."""
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    t = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float().div_(255.0)
    return t.sub_(m).div_(s).contiguous()


def _denormalise(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """The inverse of _normalise for images that were uint8: float NCHW -> uint8 NHWC (CPU).

    float32 rounding moves x * 255 by far less than half a grey level, so rounding gives back
    the exact stored pixels."""
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    t = (x.detach().float().cpu() * s + m).mul_(255.0).round_().clamp_(0, 255)
    return t.to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def to_tensors(arrays: Arrays) -> TensorData:
    """uint8 NHWC arrays -> float NCHW tensors normalised with the data set's mean and std."""
    mean, std = tuple(arrays.spec.mean), tuple(arrays.spec.std)

    def labels(y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(y, dtype=np.int64))

    return TensorData(_normalise(arrays.x_train, mean, std), labels(arrays.y_train),
                      _normalise(arrays.x_test, mean, std), labels(arrays.y_test), mean, std)


def normalised_images(images: np.ndarray, arrays: Arrays) -> torch.Tensor:
    """uint8 NHWC `images` of the data set `arrays` as a float NCHW tensor, normalised as training
    saw them."""
    return _normalise(images, tuple(arrays.spec.mean), tuple(arrays.spec.std))


class DeviceError(Exception):
    """A recipe cannot run where it was asked to: no CUDA device, or mixed precision off CUDA."""


DEVICES: tuple[str, ...] = get_args(TrainSpec.model_fields["device"].annotation)  # auto, cpu, cuda
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(requested: str) -> torch.device:
    """The torch device of train.device / --device: auto is CUDA when torch sees a GPU, else the CPU."""
    if requested not in DEVICES:
        raise DeviceError(f"device {requested!r} is not one of: {', '.join(DEVICES)}")
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = (f"this torch {torch.__version__} is built without CUDA" if torch.version.cuda is None
                 else f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no CUDA device")
        raise DeviceError(f"device 'cuda' was asked for, but {build}; use --device cpu or auto here, "
                          "or run on a machine with an NVIDIA GPU")
    return torch.device("cuda")


def autocast_dtype(mixed_precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of train.mixed_precision on `device`; None means plain float32.

    Mixed precision off CUDA is an error rather than silently float32: the checkpoint key says
    which arithmetic made the weights, so the recipe must not quietly run another."""
    if mixed_precision == "off":
        return None
    if mixed_precision not in _AUTOCAST_DTYPES:
        raise DeviceError(f"mixed precision {mixed_precision!r} is not one of: off, {', '.join(_AUTOCAST_DTYPES)}")
    if device.type != "cuda":
        raise DeviceError(f"train.mixed_precision {mixed_precision!r} runs on CUDA only, but this run trains on "
                          f"the {device.type}; train on a GPU (--device cuda) or set train.mixed_precision: off "
                          "(float32, a checkpoint of its own)")
    return _AUTOCAST_DTYPES[mixed_precision]


# One device copy of a data set, reused by the many train() calls of one pruning run.
_DEVICE_COPY: dict[str, tuple[TensorData, torch.device, TensorData]] = {}


def on_device(data: TensorData, device: torch.device) -> TensorData:
    """`data` with every tensor on `device`; the CPU data is used as it is, a GPU copy is made once."""
    if device.type == "cpu":
        return data
    cached = _DEVICE_COPY.get("copy")
    if cached is not None and cached[0] is data and cached[1] == device:
        return cached[2]
    _DEVICE_COPY.clear()  # free the previous copy before allocating the next
    copy = TensorData(data.x_train.to(device), data.y_train.to(device), data.x_test.to(device),
                      data.y_test.to(device), data.mean, data.std)
    _DEVICE_COPY["copy"] = (data, device, copy)
    return copy


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


class AugmentError(ValueError):
    """An augmentation cannot run on this data (JPEG needs the data's normalisation and RGB or
    grey images)."""


def jpeg_roundtrip(images: np.ndarray, quality: int) -> np.ndarray:
    """uint8 NHWC images (3 channels RGB or 1 grey) encoded as JPEG at `quality` and decoded,
    image by image with Pillow (baseline JPEG, its default 4:2:0 chroma subsampling for RGB).
    Deterministic: the same pixels and quality always give the same result."""
    from PIL import Image

    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] not in (1, 3):
        raise AugmentError(f"JPEG augmentation needs uint8 NHWC images with 1 or 3 channels, "
                           f"got {images.dtype} of shape {images.shape}")
    out = np.empty_like(images)
    grey = images.shape[3] == 1
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image[:, :, 0] if grey else image, "L" if grey else "RGB").save(
            buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            pixels = np.asarray(decoded.convert("L" if grey else "RGB"))
        out[i] = pixels[:, :, None] if grey else pixels
    return out


# Images per task of the threaded JPEG pass; Pillow releases the GIL while it encodes and decodes.
_JPEG_CHUNK = 2048


def jpeg_roundtrip_threaded(images: np.ndarray, quality: int, workers: int | None = None) -> np.ndarray:
    """jpeg_roundtrip over many images on several threads; the same pixels as one thread."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    chunks = [images[start:start + _JPEG_CHUNK] for start in range(0, len(images), _JPEG_CHUNK)]
    if len(chunks) <= 1:
        return jpeg_roundtrip(images, quality)
    with ThreadPoolExecutor(max_workers=workers or min(len(chunks), os.cpu_count() or 1)) as pool:
        return np.concatenate(list(pool.map(lambda chunk: jpeg_roundtrip(chunk, quality), chunks)))


# The JPEG-recovered copy of one training set, reused by every train() call of one pruning run.
_JPEG_COPY: dict[str, tuple[torch.Tensor, int, torch.device, torch.Tensor]] = {}


def jpeg_training_set(data: TensorData, quality: int, device: torch.device) -> torch.Tensor:
    """Every training image of `data` JPEG re-encoded at `quality`, normalised like `data`, on `device`.

    augment() re-encodes the image as stored, before cropping and flipping, and the round trip is a
    function of the stored pixels and the quality alone, so encoding the whole set once gives the
    very pixels that encoding the drawn images batch by batch gives (a test checks it) without a
    trip to the CPU per batch. Costs one more copy of the training set in memory."""
    if data.mean is None or data.std is None:
        raise AugmentError("train.augment.jpeg_quality needs the data's mean and std to turn the "
                           "normalised images back into pixels (TensorData from to_tensors)")
    cached = _JPEG_COPY.get("copy")
    if cached is not None and cached[0] is data.x_train and cached[1] == quality and cached[2] == device:
        return cached[3]
    _JPEG_COPY.clear()
    pixels = jpeg_roundtrip_threaded(_denormalise(data.x_train, data.mean, data.std), quality)
    copy = _normalise(pixels, data.mean, data.std).to(device)
    _JPEG_COPY["copy"] = (data.x_train, quality, device, copy)
    return copy


def augment(batch: torch.Tensor, spec: AugmentSpec, generator: torch.Generator, *,
            mean: tuple[float, ...] | None = None, std: tuple[float, ...] | None = None,
            jpeg: torch.Tensor | None = None) -> torch.Tensor:
    """JPEG re-encoding of a random share of the images, random crop after zero padding and
    random horizontal flip, one draw per image.

    The draws come from the CPU `generator` whatever device `batch` is on (see the module note),
    in the order crop rows, crop columns, flips, JPEG choices, so a recipe without JPEG draws as
    before; the cropping and flipping run where the batch is. JPEG acts first, on the image as
    stored: the normalised batch (`mean`, `std` of the data, needed then) goes back to uint8
    pixels, exactly, the chosen images are encoded and decoded on the CPU, as the JPEG-recovered
    test images were made from whole uint8 RGB images, normalised again and moved back. `jpeg`,
    the batch's images already re-encoded (jpeg_training_set), replaces that trip to the CPU."""
    device = batch.device
    n = batch.shape[0]   # a recipe without augmentation also passes flat (N, features) batches
    pad = spec.crop_padding
    if pad:
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(device)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(device)
    if spec.horizontal_flip:
        flip = (torch.rand(n, generator=generator) < 0.5).to(device)
    if spec.jpeg_quality:
        chosen = torch.rand(n, generator=generator) < spec.jpeg_probability
        if jpeg is not None:
            batch = torch.where(chosen.to(device).view(-1, *([1] * (batch.dim() - 1))), jpeg, batch)
        elif bool(chosen.any()):
            if mean is None or std is None:
                raise AugmentError("train.augment.jpeg_quality needs the data's mean and std to turn the "
                                   "normalised batch back into pixels (TensorData from to_tensors)")
            picked = torch.nonzero(chosen).view(-1)
            pixels = jpeg_roundtrip(_denormalise(batch[picked.to(device)], mean, std), spec.jpeg_quality)
            batch = batch.clone()
            batch[picked.to(device)] = _normalise(pixels, mean, std).to(device=device, dtype=batch.dtype)
    if pad:
        h, w = batch.shape[2:]
        padded = nn.functional.pad(batch, (pad, pad, pad, pad))
        rows = (dy.view(n, 1) + torch.arange(h, device=device).view(1, h)).view(n, 1, h, 1)
        cols = (dx.view(n, 1) + torch.arange(w, device=device).view(1, w)).view(n, 1, 1, w)
        batch = padded[torch.arange(n, device=device).view(n, 1, 1, 1),
                       torch.arange(batch.shape[1], device=device).view(1, -1, 1, 1), rows, cols]
    if spec.horizontal_flip:
        batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(3), batch)
    return batch


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000,
             on_batch: Callable[[int], None] | None = None) -> float:
    """Top-1 accuracy of `model` on (x, y), in [0, 1]; `on_batch(images)` after every batch."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(x), batch_size):
        logits = model(x[start:start + batch_size])
        correct += int((logits.argmax(1) == y[start:start + batch_size]).sum())
        if on_batch is not None:
            on_batch(len(logits))
    model.train(was_training)
    return correct / max(len(x), 1)


def _autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


# With a progress bar the running loss and accuracy are read back every this many steps: reading
# them waits for the GPU, so doing it every step would stall the device queue.
_PROGRESS_EVERY = 20


def train(model: nn.Module, recipe: TrainSpec, data: TensorData, seed: int,
          progress: bool = True, *, masks: Masks | None = None,
          regularizer: Callable[[nn.Module], torch.Tensor] | None = None,
          on_step: Callable[[int], None] | None = None, label: str = "") -> TrainResult:
    """Train `model` in place with `recipe`; every random draw comes from `seed`.

    Runs on recipe.device (the model comes back on the CPU), with recipe.mixed_precision autocast
    and, for fp16, a gradient scaler. `masks` keep pruned weights at zero; `regularizer(model)` is
    added to the loss (group lasso); `on_step(iteration)` runs after every optimizer step
    (late-rewinding snapshots)."""
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from simulator.progress import progress_bar

    device = resolve_device(recipe.device)
    amp = autocast_dtype(recipe.mixed_precision, device)
    generator = torch.Generator().manual_seed(seed)
    moved = device.type != "cpu" or recipe.channels_last
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed batch shapes: let cuDNN time its kernels once
    model.to(device)
    if recipe.channels_last:
        # torch's Module.to overloads omit memory_format, which Module.to accepts at run time.
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    jpeg = (jpeg_training_set(data, recipe.augment.jpeg_quality, device)
            if recipe.augment.jpeg_quality and recipe.augment.jpeg_probability > 0 else None)
    data = on_device(data, device)
    if masks:
        masks = {name: mask.to(device) for name, mask in masks.items()}
    optimizer = make_optimizer(model, recipe)
    scaler = torch.amp.GradScaler(device.type, enabled=amp is torch.float16)
    n = len(data.x_train)
    steps = math.ceil(n / recipe.batch_size)
    scheduler, per_batch = make_scheduler(optimizer, recipe, steps)
    loss_fn = nn.CrossEntropyLoss()
    result = TrainResult()
    seen, busy = 0, 0.0
    columns = [TextColumn(f"[bold]{label}epoch {{task.fields[epoch]}}"), BarColumn(),
               TextColumn("{task.completed}/{task.total} batches"),
               TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.2%}"),
               TimeElapsedColumn(), TimeRemainingColumn()]
    iteration = 0
    # Dropout draws from torch's global generator, whose state depends on what ran before in this
    # process (a dense network trained here, or loaded from the cache, leaves different states for
    # the pruning's fine-tuning): seeded from `seed` inside a fork of it, which leaves the caller's.
    rng = torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])
    try:
        with rng, progress_bar(*columns, disable=not progress, transient=False) as bar, \
                MaskedTraining(model, masks) as masking:
            torch.manual_seed(seed)
            if progress and device.type == "cuda":
                bar.console.print(f"{label}training on {torch.cuda.get_device_name(device)}, "
                                  f"mixed precision {recipe.mixed_precision}")
            for epoch in range(1, recipe.epochs + 1):
                task = bar.add_task(f"{label}train epoch {epoch}/{recipe.epochs}", total=steps, unit="batches",
                                    epoch=f"{epoch}/{recipe.epochs}", loss=0.0, acc=0.0)
                model.train()
                order = torch.randperm(n, generator=generator).to(device)
                # Sums stay on the device (float64: the same arithmetic as summing Python floats).
                loss_sum = torch.zeros((), dtype=torch.float64, device=device)
                correct_sum = torch.zeros((), dtype=torch.int64, device=device)
                start_time = time.perf_counter()
                lr = optimizer.param_groups[0]["lr"]
                for step in range(steps):
                    index = order[step * recipe.batch_size:(step + 1) * recipe.batch_size]
                    x = augment(data.x_train[index], recipe.augment, generator, mean=data.mean, std=data.std,
                                jpeg=None if jpeg is None else jpeg[index])
                    if recipe.channels_last:
                        x = x.contiguous(memory_format=torch.channels_last)
                    y = data.y_train[index]
                    with _autocast(device, amp):
                        logits = model(x)
                        loss = loss_fn(logits, y)
                    total = loss + regularizer(model) if regularizer is not None else loss
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(total).backward()
                    scaler.step(optimizer)
                    scaler.update()
                    masking.after_step()
                    iteration += 1
                    if on_step is not None:
                        on_step(iteration)
                    if scheduler is not None and per_batch:
                        scheduler.step()
                    loss_sum += loss.detach().double() * len(index)
                    correct_sum += (logits.argmax(1) == y).sum()
                    if progress and ((step + 1) % _PROGRESS_EVERY == 0 or step + 1 == steps):
                        done = min((step + 1) * recipe.batch_size, n)
                        bar.update(task, loss=float(loss_sum) / done, acc=int(correct_sum) / done)
                    bar.update(task, advance=1)
                total_loss, correct = float(loss_sum), int(correct_sum)  # waits for the device
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
    finally:
        if moved:  # the rest of the pipeline (pruning, mapping, faults) works on CPU tensors
            model.to("cpu", memory_format=torch.contiguous_format)  # type: ignore[call-overload]  # as above
    result.images_per_second = seen / busy if busy else 0.0
    return result
