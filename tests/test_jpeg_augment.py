"""JPEG augmentation (train.augment.jpeg_quality / jpeg_probability): off it changes nothing (batches,
draws, checkpoint keys), on it re-encodes the drawn images deterministically; bad values are
one-line errors naming file, key path and value."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from simulator.config import ConfigError, load_workload
from simulator.config.workload import AugmentSpec, TrainSpec
from simulator.network.checkpoint import checkpoint_key
from simulator.network.compact import load_compact
from simulator.network.train import (
    AugmentError,
    TensorData,
    _denormalise,
    _normalise,
    augment,
    jpeg_roundtrip,
    train,
)

REPO = Path(__file__).resolve().parents[1]
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)  # CIFAR-10's


def pixels(n: int = 16, size: int = 16, seed: int = 0) -> np.ndarray:
    """Smooth-ish uint8 NHWC RGB images (pure noise would be a poor JPEG test)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (n, size // 4, size // 4, 3)).astype(np.float64)
    big = base.repeat(4, axis=1).repeat(4, axis=2) + rng.normal(0, 12, (n, size, size, 3))
    return np.clip(big, 0, 255).astype(np.uint8)


def batch(n: int = 16) -> torch.Tensor:
    return _normalise(pixels(n), MEAN, STD)


def augment_before_jpeg(batch: torch.Tensor, spec: AugmentSpec, generator: torch.Generator) -> torch.Tensor:
    """train.augment as it was before JPEG existed (crop, then flip; draws in that order)."""
    device = batch.device
    if spec.crop_padding:
        pad = spec.crop_padding
        n, _, h, w = batch.shape
        padded = nn.functional.pad(batch, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(device)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(device)
        rows = (dy.view(n, 1) + torch.arange(h, device=device).view(1, h)).view(n, 1, h, 1)
        cols = (dx.view(n, 1) + torch.arange(w, device=device).view(1, w)).view(n, 1, 1, w)
        batch = padded[torch.arange(n, device=device).view(n, 1, 1, 1),
                       torch.arange(batch.shape[1], device=device).view(1, -1, 1, 1), rows, cols]
    if spec.horizontal_flip:
        flip = (torch.rand(batch.shape[0], generator=generator) < 0.5).to(device)
        batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(3), batch)
    return batch


# Off: nothing changes ----------------------------------------------------------------------


@pytest.mark.parametrize("spec", [
    AugmentSpec(), AugmentSpec(crop_padding=4), AugmentSpec(horizontal_flip=True),
    AugmentSpec(crop_padding=2, horizontal_flip=True),
    AugmentSpec(crop_padding=4, horizontal_flip=True, jpeg_quality=0, jpeg_probability=0.5),
])
def test_off_gives_the_batches_and_draws_of_before(spec: AugmentSpec) -> None:
    x = batch()
    new_gen, old_gen = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    for _ in range(3):
        new = augment(x, spec, new_gen, mean=MEAN, std=STD)
        old = augment_before_jpeg(x, spec, old_gen)
        assert torch.equal(new, old)
    assert torch.equal(new_gen.get_state(), old_gen.get_state())  # the next epoch's order too


def test_quality_zero_means_off() -> None:
    assert AugmentSpec(jpeg_quality=0).jpeg_quality is None
    assert AugmentSpec(jpeg_quality=75).jpeg_probability == 0.5


def test_key_unchanged_when_off() -> None:
    crop_flip = {"crop_padding": 4, "horizontal_flip": True}
    assert AugmentSpec(**crop_flip).model_dump(mode="json") == crop_flip
    assert AugmentSpec(**crop_flip, jpeg_quality=0, jpeg_probability=0.3).model_dump(mode="json") == crop_flip
    on = TrainSpec(augment={**crop_flip, "jpeg_quality": 75}).model_dump(mode="json")
    assert on["augment"] == {**crop_flip, "jpeg_quality": 75, "jpeg_probability": 0.5}
    off = TrainSpec(augment=crop_flip).model_dump(mode="json")
    assert checkpoint_key({"train": on}) != checkpoint_key({"train": off})
    every = TrainSpec(augment={**crop_flip, "jpeg_quality": 75, "jpeg_probability": 1.0}).model_dump(mode="json")
    assert checkpoint_key({"train": every}) != checkpoint_key({"train": on})


@pytest.mark.parametrize("workload, shipped", [
    ("workloads/resnet20_cifar_sparse.yaml", "checkpoints/resnet20_cifar_sparse_25.pt"),
    ("workloads/vgg11_narrow_cifar_sparse_10.yaml", "checkpoints/vgg11_narrow_cifar_10.pt"),
])
def test_shipped_checkpoints_keep_their_train_key(workload: str, shipped: str) -> None:
    if not (REPO / workload).is_file():
        pytest.skip(f"{workload} not in this checkout")
    _, _, info = load_compact(REPO / shipped)
    assert load_workload(REPO / workload).config.train.model_dump(mode="json") == info["producer"]["train"]


# On: JPEG'd, deterministic -----------------------------------------------------------------


def test_normalisation_round_trip_is_exact() -> None:
    images = pixels(32)
    assert np.array_equal(_denormalise(_normalise(images, MEAN, STD), MEAN, STD), images)


def test_jpeg_roundtrip_is_deterministic_and_lossy() -> None:
    images = pixels(8)
    once, again = jpeg_roundtrip(images, 75), jpeg_roundtrip(images, 75)
    assert np.array_equal(once, again) and once.dtype == np.uint8 and once.shape == images.shape
    assert not np.array_equal(once, images)
    assert np.abs(jpeg_roundtrip(images, 95).astype(int) - images).mean() < np.abs(once.astype(int) - images).mean()
    grey = jpeg_roundtrip(images[..., :1], 75)
    assert grey.shape == (8, 16, 16, 1)
    with pytest.raises(AugmentError, match="uint8 NHWC"):
        jpeg_roundtrip(images.astype(np.float32), 75)


def test_probability_one_changes_every_image_as_the_codec_does() -> None:
    x = batch()
    spec = AugmentSpec(jpeg_quality=75, jpeg_probability=1.0)
    out = augment(x, spec, torch.Generator().manual_seed(1), mean=MEAN, std=STD)
    expected = _normalise(jpeg_roundtrip(pixels(), 75), MEAN, STD)
    assert torch.equal(out, expected)
    assert all(not torch.equal(a, b) for a, b in zip(out, x))


def test_on_is_deterministic_for_a_seed_and_draws_from_the_generator() -> None:
    x = batch(64)
    spec = AugmentSpec(crop_padding=4, horizontal_flip=True, jpeg_quality=75, jpeg_probability=0.5)
    a = augment(x, spec, torch.Generator().manual_seed(7), mean=MEAN, std=STD)
    b = augment(x, spec, torch.Generator().manual_seed(7), mean=MEAN, std=STD)
    c = augment(x, spec, torch.Generator().manual_seed(8), mean=MEAN, std=STD)
    assert torch.equal(a, b) and not torch.equal(a, c)
    # crops and flips are drawn first, as before; the JPEG choices come after them
    crop_flip = augment_before_jpeg(x, AugmentSpec(crop_padding=4, horizontal_flip=True),
                                    torch.Generator().manual_seed(7))
    same = [torch.equal(a[i], crop_flip[i]) for i in range(64)]
    assert 0 < sum(same) < 64  # about half the images were re-encoded


def test_probability_zero_draws_but_changes_nothing() -> None:
    x = batch()
    out = augment(x, AugmentSpec(jpeg_quality=75, jpeg_probability=0.0), torch.Generator().manual_seed(0),
                  mean=MEAN, std=STD)
    assert torch.equal(out, x)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batch_gets_the_cpu_result() -> None:
    x = batch(64)
    spec = AugmentSpec(crop_padding=4, horizontal_flip=True, jpeg_quality=75, jpeg_probability=0.5)
    cpu = augment(x, spec, torch.Generator().manual_seed(7), mean=MEAN, std=STD)
    gpu = augment(x.cuda(), spec, torch.Generator().manual_seed(7), mean=MEAN, std=STD)
    assert gpu.device.type == "cuda"
    assert torch.equal(gpu.cpu(), cpu)


def test_jpeg_needs_the_normalisation() -> None:
    with pytest.raises(AugmentError, match="mean and std"):
        augment(batch(), AugmentSpec(jpeg_quality=75), torch.Generator().manual_seed(0))


def test_training_with_jpeg_is_deterministic() -> None:
    images, g = pixels(32, size=8, seed=2), torch.Generator().manual_seed(0)
    data = TensorData(_normalise(images, MEAN, STD), torch.randint(0, 4, (32,), generator=g),
                      _normalise(images[:8], MEAN, STD), torch.randint(0, 4, (8,), generator=g), MEAN, STD)
    recipe = TrainSpec(epochs=1, batch_size=8, device="cpu",
                       augment={"crop_padding": 2, "horizontal_flip": True, "jpeg_quality": 50,
                                                             "jpeg_probability": 0.5})

    def weights() -> list[torch.Tensor]:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                              nn.Flatten(), nn.Linear(4, 4))
        train(model, recipe, data, seed=4, progress=False)
        return [p.detach().clone() for p in model.parameters()]

    assert all(torch.equal(a, b) for a, b in zip(weights(), weights()))


# Validation --------------------------------------------------------------------------------


GOOD = {"name": "t", "hardware": "hw.yaml", "model": {"name": "lenet5"}, "data": {"dataset": "mnist"},
        "mapping": {"crossbar": {"size": 64}}}


@pytest.mark.parametrize("key, value, words", [
    ("jpeg_quality", 101, "less than or equal to 100"),
    ("jpeg_quality", -1, "greater than or equal to 0"),
    ("jpeg_quality", "75", "valid integer"),
    ("jpeg_quality", 75.5, "whole number"),
    ("jpeg_probability", 1.5, "less than or equal to 1"),
    ("jpeg_probability", -0.1, "greater than or equal to 0"),
])
def test_bad_values_name_file_key_and_value(tmp_path: Path, key: str, value, words: str) -> None:
    (tmp_path / "hw.yaml").write_text((REPO / "hwconfigs" / "prime.yaml").read_text())
    doc = json.loads(json.dumps(GOOD))
    doc["train"] = {"augment": {"jpeg_quality": 75, key: value}}
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as info:
        load_workload(path)
    problems = info.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    line = str(problems[0])
    assert line.startswith(str(path))
    assert f"train.augment.{key}" in line
    assert words in line
    assert f"got {value!r}" in line or f"got {value}" in line


def test_precomputed_jpeg_set_gives_the_same_batches_as_encoding_per_batch() -> None:
    """train() encodes the training set once (jpeg_training_set) instead of the drawn images of every
    batch; the augmented batches must be identical, image for image and draw for draw."""
    from simulator.network.train import jpeg_roundtrip_threaded, jpeg_training_set

    images = pixels(40, size=16, seed=3)
    data = TensorData(_normalise(images, MEAN, STD), torch.zeros(40, dtype=torch.long),
                      _normalise(images[:4], MEAN, STD), torch.zeros(4, dtype=torch.long), MEAN, STD)
    spec = AugmentSpec(crop_padding=2, horizontal_flip=True, jpeg_quality=75, jpeg_probability=0.5)
    whole = jpeg_training_set(data, 75, torch.device("cpu"))
    assert jpeg_training_set(data, 75, torch.device("cpu")) is whole          # one copy per data set
    assert torch.equal(_normalise(jpeg_roundtrip_threaded(images, 75, workers=2), MEAN, STD), whole)
    index = torch.tensor([5, 0, 39, 17, 17, 8, 22, 31])
    per_batch = augment(data.x_train[index], spec, torch.Generator().manual_seed(7), mean=MEAN, std=STD)
    precomputed = augment(data.x_train[index], spec, torch.Generator().manual_seed(7), mean=MEAN, std=STD,
                          jpeg=whole[index])
    assert torch.equal(per_batch, precomputed)
    assert not torch.equal(per_batch, augment(data.x_train[index], spec.model_copy(update={"jpeg_quality": None}),
                                              torch.Generator().manual_seed(7)))


def test_threaded_jpeg_matches_one_thread() -> None:
    from simulator.network import train as train_module

    images = pixels(50, size=8, seed=5)
    old = train_module._JPEG_CHUNK
    train_module._JPEG_CHUNK = 7   # several chunks on several threads
    try:
        assert np.array_equal(train_module.jpeg_roundtrip_threaded(images, 60, workers=3), jpeg_roundtrip(images, 60))
    finally:
        train_module._JPEG_CHUNK = old
