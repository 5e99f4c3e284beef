"""Training device selection (issue #8): CPU or CUDA, mixed precision on CUDA only, the CPU path
unchanged, and the GPU recipes of workloads/gpu/ run end to end on a CPU subset.

Tests marked `cuda` in their name run only where torch sees a GPU; the rest run everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from torch import nn
from typer.testing import CliRunner

from simulator.cli import app
from simulator.config.loader import validate
from simulator.config.workload import TrainSpec, WorkloadConfig
from simulator.network.checkpoint import checkpoint_key
from simulator.network.compact import load_compact
from simulator.network.train import DeviceError, TensorData, augment, autocast_dtype, on_device, resolve_device, train
from simulator.pruning.masks import density

REPO = Path(__file__).resolve().parents[1]
GPU_WORKLOADS = sorted((REPO / "workloads" / "gpu").glob("*.yaml"))
HAS_CUDA = torch.cuda.is_available()


def tiny_data(n: int = 64, seed: int = 0) -> TensorData:
    g = torch.Generator().manual_seed(seed)
    return TensorData(torch.randn(n, 3, 8, 8, generator=g), torch.randint(0, 4, (n,), generator=g),
                      torch.randn(32, 3, 8, 8, generator=g), torch.randint(0, 4, (32,), generator=g))


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 4))


def recipe(**changes) -> TrainSpec:
    return TrainSpec(epochs=1, batch_size=16, schedule="cosine",
                     augment={"crop_padding": 2, "horizontal_flip": True}, **changes)


# Device selection -------------------------------------------------------------------------


def test_auto_is_the_cpu_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_auto_and_cuda_pick_the_gpu_when_torch_sees_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("cpu") == torch.device("cpu")


def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match=r"device 'cuda' was asked for, but .*use --device cpu or auto"):
        resolve_device("cuda")


def test_unknown_device_lists_the_allowed_ones() -> None:
    with pytest.raises(DeviceError, match="'tpu' is not one of: auto, cpu, cuda"):
        resolve_device("tpu")


def test_workload_rejects_an_unknown_device(tmp_path: Path) -> None:
    doc = yaml.safe_load(GPU_WORKLOADS[0].read_text())
    doc["hardware"] = str(REPO / "hwconfigs" / "prime.yaml")
    doc["train"]["device"] = "gpu"
    from simulator.config.errors import ConfigError

    with pytest.raises(ConfigError, match=r"train\.device: Input should be 'auto', 'cpu' or 'cuda' \(got 'gpu'\)"):
        validate(WorkloadConfig, doc, tmp_path / "w.yaml")


# Mixed precision ---------------------------------------------------------------------------


def test_mixed_precision_dtypes_on_cuda() -> None:
    cuda = torch.device("cuda")  # a device object needs no GPU
    assert autocast_dtype("off", cuda) is None
    assert autocast_dtype("bf16", cuda) is torch.bfloat16
    assert autocast_dtype("fp16", cuda) is torch.float16


def test_mixed_precision_is_off_on_the_cpu() -> None:
    assert autocast_dtype("off", torch.device("cpu")) is None
    seen = []
    model = tiny_model()
    model[0].register_forward_hook(lambda m, i, out: seen.append((torch.is_autocast_enabled(), out.dtype)))
    train(model, recipe(device="cpu"), tiny_data(), seed=0, progress=False)
    assert seen and set(seen) == {(False, torch.float32)}


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_on_the_cpu_is_an_error_before_any_step(precision: str) -> None:
    model = tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(DeviceError, match=f"train.mixed_precision '{precision}' runs on CUDA only.*"
                                          "mixed_precision: off"):
        train(model, recipe(device="cpu", mixed_precision=precision), tiny_data(), seed=0, progress=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# Checkpoint keys ----------------------------------------------------------------------------


def test_device_and_layout_are_not_in_the_key_but_mixed_precision_is() -> None:
    base = TrainSpec().model_dump(mode="json")
    assert "device" not in base and "channels_last" not in base and "mixed_precision" not in base
    assert TrainSpec(device="cuda", channels_last=True).model_dump(mode="json") == base
    key = checkpoint_key({"train": base})
    assert checkpoint_key({"train": TrainSpec(device="cpu").model_dump(mode="json")}) == key
    assert checkpoint_key({"train": TrainSpec(mixed_precision="bf16").model_dump(mode="json")}) != key
    assert TrainSpec(mixed_precision="fp16").model_dump(mode="json")["mixed_precision"] == "fp16"


# The CPU path ---------------------------------------------------------------------------------


def test_cpu_data_is_used_in_place() -> None:
    data = tiny_data()
    assert on_device(data, torch.device("cpu")) is data


def test_augmentation_draws_come_from_the_cpu_generator() -> None:
    # The same generator state gives the same crops and flips, and leaves the generator in the
    # same state, whatever the batch's device: here both batches are on the CPU, the draws are
    # what a CUDA batch would get (indices are drawn on the CPU, then moved).
    batch = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    spec = recipe().augment
    a_gen, b_gen = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(augment(batch, spec, a_gen), augment(batch.clone(), spec, b_gen))
    assert torch.equal(torch.rand(4, generator=a_gen), torch.rand(4, generator=b_gen))


def test_channels_last_gives_the_same_training_up_to_rounding() -> None:
    plain, fast = tiny_model(), tiny_model()
    train(plain, recipe(device="cpu"), tiny_data(), seed=5, progress=False)
    train(fast, recipe(device="cpu", channels_last=True), tiny_data(), seed=5, progress=False)
    for (name, a), b in zip(plain.state_dict().items(), fast.state_dict().values()):
        assert b.device.type == "cpu" and b.is_contiguous(), name
        assert torch.allclose(a, b, atol=1e-5), name


# The GPU recipes ------------------------------------------------------------------------------


def test_every_gpu_recipe_is_valid_and_shares_its_dense_parent() -> None:
    names = {p.stem for p in GPU_WORKLOADS}
    assert {"vgg11_cifar", "vgg16_cifar", "vgg19_cifar", "resnet18_cifar", "alexnet_cifar",
            "vgg16_cifar_sparse_7.5", "vgg16_cifar_sparse_4", "vgg16_cifar_sparse_2", "vgg16_cifar_sparse_1",
            "vgg19_cifar_sparse_4", "vgg19_cifar_sparse_2", "vgg19_cifar_sparse_1", "vgg11_cifar_sparse_4",
            "resnet18_cifar_sparse_25", "resnet18_cifar_sparse_4", "alexnet_cifar_sparse_4"} <= names
    from simulator.config import load_workload

    for path in GPU_WORKLOADS:
        workload = load_workload(path).config
        assert workload.train.mixed_precision == "bf16" and workload.train.augment.crop_padding == 4
        if workload.prune is not None:
            parent = load_workload(path.parent / f"{path.stem.split('_sparse_')[0]}.yaml").config
            assert (workload.model, workload.train, workload.seed, workload.data) == \
                   (parent.model, parent.train, parent.seed, parent.data), path.name


def quick_gpu_recipe(folder: Path, data_dir: Path, **train) -> Path:
    """workloads/gpu/vgg16_cifar_sparse_4.yaml on 512 + 256 images, one epoch each, width 1/8."""
    doc = yaml.safe_load((REPO / "workloads" / "gpu" / "vgg16_cifar_sparse_4.yaml").read_text())
    doc["hardware"] = str(REPO / "hwconfigs" / "prime.yaml")
    doc["model"]["kwargs"] = {"width": 0.125}
    doc["data"] = {"dataset": "cifar10", "dir": str(data_dir), "train_samples": 512, "test_samples": 256}
    doc["train"].update({"epochs": 1, "mixed_precision": "off", **train})
    doc["prune"]["finetune_epochs"] = 1
    path = folder / "vgg16_quick.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_gpu_recipe_trains_prunes_and_exports_on_a_cpu_subset(tmp_path: Path, shared_data: Path,
                                                              cache: Path) -> None:
    workload = quick_gpu_recipe(tmp_path, shared_data)
    export = tmp_path / "vgg16_quick.pt"
    runner = CliRunner()
    result = runner.invoke(app, ["train", str(workload), "--device", "cpu", "--quiet", "--export", str(export)])
    assert result.exit_code == 0, result.output
    assert "trained:" in result.output and "exported:" in result.output
    state, masks, info = load_compact(export)
    assert density(masks) == pytest.approx(0.04, abs=1e-6)
    assert info["reproduce"].endswith(f"--device cpu --export {export}")
    assert "mixed_precision" not in info["producer"]["train"] and "device" not in info["producer"]["train"]
    again = runner.invoke(app, ["eval", str(workload)])
    assert again.exit_code == 0 and "test accuracy:" in again.output and "(256 images" in again.output


def test_gpu_recipe_with_mixed_precision_on_the_cpu_fails_in_one_line(tmp_path: Path, shared_data: Path,
                                                                      cache: Path) -> None:
    workload = quick_gpu_recipe(tmp_path, shared_data, mixed_precision="bf16")
    result = CliRunner().invoke(app, ["train", str(workload), "--device", "cpu", "--quiet"])
    assert result.exit_code == 1
    assert "train.mixed_precision 'bf16' runs on CUDA only" in result.output
    assert "Traceback" not in result.output


@pytest.mark.skipif(HAS_CUDA, reason="this machine has a GPU")
def test_cli_device_cuda_without_a_gpu_fails_before_loading_data(tmp_path: Path) -> None:
    workload = quick_gpu_recipe(tmp_path, tmp_path / "no-data-here")
    result = CliRunner().invoke(app, ["train", str(workload), "--device", "cuda", "--quiet"])
    assert result.exit_code == 1
    assert "--device cuda: device 'cuda' was asked for" in result.output
    assert "not found" not in result.output  # the data set was never looked for


def test_cli_rejects_an_unknown_device(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train", str(tmp_path / "w.yaml"), "--device", "gpu"])
    assert result.exit_code == 1
    assert "--device: 'gpu' is not allowed; allowed: auto, cpu, cuda" in result.output


# Only on a machine with a GPU ------------------------------------------------------------------


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_cuda_training_makes_the_cpu_draws_and_returns_the_model_to_the_cpu() -> None:
    on_cpu, on_gpu = tiny_model(), tiny_model()
    train(on_cpu, recipe(device="cpu"), tiny_data(), seed=1, progress=False)
    train(on_gpu, recipe(device="cuda"), tiny_data(), seed=1, progress=False)
    for (name, a), b in zip(on_cpu.state_dict().items(), on_gpu.state_dict().values()):
        assert b.device.type == "cpu", name
        assert torch.allclose(a, b, atol=1e-4), name


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_cuda_mixed_precision_trains_under_masks(precision: str) -> None:
    model = tiny_model()
    masks = {"0": torch.rand(4, 3, 3, 3, generator=torch.Generator().manual_seed(0)) < 0.5}
    seen = []
    # Training steps run under autocast; the per-epoch test evaluation runs in float32 (eval mode).
    model[0].register_forward_hook(lambda m, i, out: seen.append(out.dtype) if m.training else None)
    result = train(model, recipe(device="cuda", mixed_precision=precision, channels_last=True), tiny_data(),
                   seed=0, progress=False, masks=masks)
    assert set(seen) == {autocast_dtype(precision, torch.device("cuda"))}
    assert all(torch.isfinite(torch.tensor(r.train_loss)) for r in result.history)
    assert model[0].weight.device.type == "cpu"
    assert not model[0].weight[~masks["0"]].any()
