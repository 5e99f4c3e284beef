"""Cold runs do only what they need (issue #25 item 2), and one session runs the stages (item 1):
no optimizer when nothing trains, only the test split prepared, the data set's id hashed once,
no pandas / torch / jinja2 / Pillow on the hardware-only path, and a network mapped once per run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "torch", "jinja2", "PIL", "matplotlib")


def untrained_workload(folder: Path, data: Path, **extra: object) -> Path:
    """LeNet-5 / MNIST with its initial weights (train.epochs 0) on 32 x 32 tiles."""
    doc = {"name": "lenet5_untrained", "seed": 0, "hardware": str(REPO / "hwconfigs" / "sparse_small.yaml"),
           "model": {"name": "lenet5"}, "data": {"dataset": "mnist", "dir": str(data), "test_samples": 200},
           "train": {"epochs": 0}, "mapping": {"crossbar": {"size": 32}, "reorder": "none"},
           "hardware_study": {"compare_dense": False}, **extra}
    path = folder / "untrained.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_an_untrained_network_builds_no_optimizer_and_prepares_only_the_test_split(
        tmp_path: Path, shared_data: Path, cache: Path) -> None:
    path = untrained_workload(tmp_path, shared_data)
    code = ("import sys\n"
            "from simulator.data import datasets\n"
            "from simulator.network import tensors\n"
            "hashed = []\n"
            "digest = datasets.Arrays.dataset_id.func\n"
            "datasets.Arrays.dataset_id.func = lambda self: hashed.append(1) or digest(self)\n"
            "from simulator.pipeline import run\n"
            f"_, report = run({str(path)!r}, out={str(tmp_path / 'out')!r}, progress=False)\n"
            "print(report.accuracy is not None, 'torch._dynamo' in sys.modules,\n"
            "      tensors.tensors_of.cache_info().currsize, tensors.test_tensors_of.cache_info().currsize,\n"
            "      len(hashed))")
    # The accuracy pass ran on the test split alone; no optimizer (its import pulls in torch._dynamo),
    # and the data set hashed once however often its id is asked for.
    assert _python(code) == "True False 0 1 1"


def test_the_hardware_only_path_imports_no_pandas_torch_jinja2_or_pillow(
        tmp_path: Path, shared_data: Path, cache: Path) -> None:
    path = untrained_workload(tmp_path, shared_data)
    warm = ("from simulator.pipeline import run\n"
            f"run({str(path)!r}, out={str(tmp_path / 'out')!r}, progress=False, accuracy=False)\nprint('ok')")
    assert _python(warm) == "ok"
    code = ("import sys\n"
            "from simulator.pipeline import Session\n"
            f"session = Session.open({str(path)!r}, progress=False)\n"
            "assert session.cached_mappings() is not None\n"
            "result = session.hardware()\n"
            "rows = session.layer_rows()\n"
            "print(result.workload.summary.energy_per_inference_pj > 0, len(rows), "
            f"[name for name in {HEAVY!r} if name in sys.modules])")
    assert _python(code) == "True 5 []"


def test_a_cached_run_starts_no_process_and_imports_no_http_client(
        tmp_path: Path, shared_data: Path, cache: Path) -> None:
    """A `resim run` with every mapping cached writes its reports without running `uname -p`
    (platform.platform(), cached), without the HTTP client (only a download needs it) and without
    pydantic's scan of every installed distribution for plugins."""
    path = untrained_workload(tmp_path, shared_data)
    command = [sys.executable, "-m", "simulator.cli", "run", str(path), "--no-accuracy", "-q"]
    for out in ("first", "again"):
        done = subprocess.run([*command, "--out", str(tmp_path / out)], capture_output=True, text=True, cwd=REPO)
        assert done.returncode == 0, done.stderr
    code = ("import runpy, subprocess, sys\n"
            "started = []\n"
            "class Recorded(subprocess.Popen):\n"
            "    def __init__(self, args, *rest, **options):\n"
            "        started.append(args)\n"
            "        super().__init__(args, *rest, **options)\n"
            "subprocess.Popen = Recorded\n"
            f"sys.argv = ['resim', *{command[3:]!r}, '--out', {str(tmp_path / 'third')!r}]\n"
            "try:\n    runpy.run_module('simulator.cli', run_name='__main__')\nexcept SystemExit as exc:\n"
            "    assert not exc.code, exc.code\n"
            "from pydantic.plugin import _loader\n"
            "print(started, [name for name in ('http.client', 'ssl') if name in sys.modules], _loader._plugins)")
    assert _python(code) == "[] [] None"
    import json

    from simulator.report.results import versions

    recorded = json.loads((tmp_path / "third" / "report.json").read_text())["versions"]
    assert recorded == versions() == json.loads((tmp_path / "first" / "report.json").read_text())["versions"]


def test_package_versions_are_importlib_metadata_s(tmp_path: Path, cache: Path) -> None:
    """The versions a report records, read from each .dist-info's METADATA header, are the ones
    importlib.metadata gives, "not installed" included; platform.platform() comes from the cache."""
    import importlib.metadata
    import platform

    from simulator.report import results

    names = (*results._PACKAGES, "no-such-package-resim")
    found = results._installed(names)
    for name in names:
        try:
            expected = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            expected = "not installed"
        assert found.get(name, expected) == expected
    assert found["no-such-package-resim"] == "not installed" and found["numpy"] == importlib.metadata.version("numpy")
    assert results._platform() == platform.platform() == results._platform()
    assert len(list((cache / "platform").glob("*.json"))) == 1


def test_the_fault_stage_reads_the_mapping_stage_s_network(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    """`resim run` with a fault study maps the workload's network once, for the hardware and the faults."""
    path = untrained_workload(tmp_path, shared_data, faults={"rates": [0.01], "runs": 1, "encodings": ["two-column"]})
    code = ("from simulator.mapping import network\n"
            "calls = []\n"
            "mapping = network.map_matrices\n"
            "network.map_matrices = lambda *a, **k: calls.append(1) or mapping(*a, **k)\n"
            "from simulator.pipeline import run\n"
            f"_, report = run({str(path)!r}, out={str(tmp_path / 'out')!r}, progress=False)\n"
            "print(len(report.faults), len(calls))")
    assert _python(code) == "1 1"


def test_programmed_masks_are_quantize_s_nonzeros() -> None:
    """The mapping's fast path keeps exactly the weights quantize keeps, halfway values included."""
    import numpy as np

    from simulator.mapping.quantize import programmed, quantize

    rng = np.random.default_rng(0)
    W = rng.normal(size=(300, 70)).astype(np.float32)
    W[rng.random(W.shape) < 0.3] = 0.0
    W[0, :5] = [0.5, -0.5, 0.4999999, 0.5000001, 1e-30]       # halfway to the first level, and below it
    W[1, 0] = 127.0                                           # the peak: scale 1 at 8 bits
    for bits in (2, 4, 8):
        for per_column in (False, True):
            mask, scale, flushed = programmed(W, bits, per_column)
            q = quantize(W, bits, per_column)
            assert np.array_equal(mask, q.q != 0) and np.array_equal(scale, q.scale) and flushed == q.flushed


def test_a_float32_matrix_is_programmed_as_its_float64_copy_at_every_halfway_value() -> None:
    """programmed decides a float32 matrix in float32 except within a hair of half a level: the
    weights at and beside every column's threshold (float32 neighbours of half its scale), at
    peaks from 1e-37 to 1e37, are kept exactly as quantize keeps them."""
    import numpy as np

    from simulator.mapping.quantize import programmed, quantize

    rng = np.random.default_rng(1)
    for peak_exp in (-37, -30, -3, 0, 2, 20, 37):
        for bits in (2, 3, 8):
            top = 2 ** (bits - 1) - 1
            peaks = (10.0 ** peak_exp * rng.uniform(0.5, 2.0, size=6)).astype(np.float32)
            W = np.zeros((42, 6), dtype=np.float32)
            W[0] = peaks
            for c, peak in enumerate(peaks):
                half = np.float32(0.5 * (np.float64(peak) / top))
                near = [half]
                for _ in range(20):          # float32 neighbours on both sides of the threshold
                    near = [np.nextafter(near[0], np.float32(0)), *near, np.nextafter(near[-1], np.float32(np.inf))]
                W[1:len(near) + 1, c] = np.array(near, dtype=np.float32) * rng.choice([-1, 1], size=len(near))
            stacked = W.reshape(-1)
            for matrix, per_column in ((W, True), (stacked, False)):
                mask, scale, flushed = programmed(matrix, bits, per_column)
                wide = programmed(matrix.astype(np.float64), bits, per_column)
                q = quantize(matrix, bits, per_column)
                assert np.array_equal(mask, q.q != 0) and np.array_equal(mask, wide[0])
                assert np.array_equal(scale, q.scale) and scale.shape == q.scale.shape
                assert flushed == q.flushed == wide[2]
    W = np.ones((3, 3), dtype=np.float32)
    W[1, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        programmed(W, 8, True)


def test_an_empty_mapping_cache_maps_again_without_the_data_set_or_torch(
        tmp_path: Path, shared_data: Path, cache: Path) -> None:
    """With the data set's id and the network's lowering cached, mapping again reads no image and
    imports no torch (MNSIM 2.0 maps VGG-16 every run: issue #25's like-for-like benchmark)."""
    import shutil

    from simulator.pipeline import run

    path = untrained_workload(tmp_path, shared_data)
    _, first = run(path, out=tmp_path / "first", progress=False, accuracy=False)
    shutil.rmtree(cache / "mappings")
    _, again = run(path, out=tmp_path / "again", progress=False, accuracy=False)
    assert first.stages_run[:2] == ["data", "network"] and again.stages_run == ["mapping", "hardware"]
    assert again.data == first.data and again.network == first.network.model_copy(update={"reused_checkpoint": True})
    assert again.layers == [layer.model_copy(update={"mapping_seconds": mine.mapping_seconds})
                            for layer, mine in zip(first.layers, again.layers)]
    assert again.hardware.summary == first.hardware.summary
    shutil.rmtree(cache / "mappings")
    code = ("import sys\nfrom simulator.pipeline import run\n"
            f"_, report = run({str(path)!r}, out={str(tmp_path / 'third')!r}, progress=False, accuracy=False)\n"
            "print(report.stages_run, 'torch' in sys.modules)")
    assert _python(code) == "['mapping', 'hardware'] False"


def test_the_accuracy_comes_from_the_cache_when_the_data_set_s_id_must_be_computed_again(
        tmp_path: Path, shared_data: Path, cache: Path) -> None:
    """The data set's id record is per file location: read from another path (or lost), the data
    set is read to hash it, and the accuracy pass still comes from the cache."""
    import shutil

    from simulator.pipeline import run

    path = untrained_workload(tmp_path, shared_data)
    _, first = run(path, out=tmp_path / "first", progress=False)
    shutil.rmtree(cache / "dataset_ids")
    _, again = run(path, out=tmp_path / "again", progress=False)
    assert "accuracy" in first.stages_run and "accuracy" in again.skipped and again.accuracy == first.accuracy


def test_a_chart_drawn_before_is_copied_not_drawn_again(tmp_path: Path, cache: Path) -> None:
    from simulator.report.bars import Series, bar_chart

    def chart(path: Path, values: list[float]) -> None:
        bar_chart(path, ["a", "b"], [Series("x", values)], title="t", x_label="layer", y_label="nJ", stacked=True)

    chart(tmp_path / "first.png", [1.0, 2.0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "PIL", None)          # drawing would fail now
        chart(tmp_path / "again.png", [1.0, 2.0])
        with pytest.raises(ImportError):
            chart(tmp_path / "other.png", [1.0, 3.0])    # other values: drawn, so it needs Pillow
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "first.png").read_bytes()


def test_a_workload_s_files_are_each_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a workload parses its file and its hardware file once each (the hardware file was
    parsed twice: once to tell its kind, once to validate it)."""
    from simulator.config import loader

    parsed: list[str] = []
    read = loader.read_yaml
    monkeypatch.setattr(loader, "read_yaml", lambda path: parsed.append(Path(path).name) or read(path))
    loader.load_workload(REPO / "bench" / "peers" / "vgg16_mnsim.yaml")
    assert parsed == ["vgg16_mnsim.yaml", "prime_mnsim_matched.yaml"]


def test_a_command_runs_with_fewer_collections() -> None:
    """`python -m simulator.cli` and the console script set the collector's thresholds before their
    imports; importing the module (tests, the API) leaves the process's own alone."""
    from simulator.entry import GC_THRESHOLDS

    report = "import atexit, gc\natexit.register(lambda: print(gc.get_threshold()))\n"
    as_module = report + ("import runpy, sys\nsys.argv = ['resim', '--version']\n"
                          "runpy.run_module('simulator.cli', run_name='__main__')")
    as_script = report + "import sys\nsys.argv = ['resim', '--version']\nfrom simulator.entry import main\nmain()"
    imported = "import gc\nimport simulator.cli\nprint(gc.get_threshold())"
    for code in (as_module, as_script):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().splitlines()[-1] == str(GC_THRESHOLDS)
    assert _python(imported) == _python("import gc\nprint(gc.get_threshold())") != str(GC_THRESHOLDS)


@pytest.mark.parametrize("name", ["vgg11_bn", "resnet20", "googlenet"])
def test_lowering_with_the_dataflow_is_lower_network_and_dataflow_from_one_pass(name: str) -> None:
    """The lowering, the pooling and activations after each layer and the dataflow's geometry are
    recorded in one forward pass, each as its own pass records it (chains, residual additions,
    branches)."""
    import torch
    from torch import nn

    from simulator.lowering.dataflow import dataflow
    from simulator.lowering.layers import lower_network, lower_with_dataflow
    from simulator.network.zoo import build_zoo_model

    torch.manual_seed(0)
    model = build_zoo_model(name, in_channels=3, num_classes=10, input_size=32)
    passes: list[int] = []
    handle = model.register_forward_pre_hook(lambda *_: passes.append(1))
    layers, flow = lower_with_dataflow(model, (3, 32, 32))
    assert len(passes) == 1
    handle.remove()
    assert layers == lower_network(model, (3, 32, 32)) and flow == dataflow(model, (3, 32, 32))
    assert any(layer.pool_ops for layer in layers) and any(layer.activations for layer in layers)
    assert model.training and not model._forward_pre_hooks and not any(
        m._forward_hooks for m in model.modules() if isinstance(m, nn.Module))


def test_a_cold_run_passes_the_network_forward_once(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    """With the mapping and lowering caches empty (and on the first run), the network runs forward
    once: lowering, pooling and activations, and the dataflow's geometry share its pass (each had
    its own: three passes, a third of a VGG-16 run's CPU beyond importing torch)."""
    import shutil

    import torch
    from torch import nn

    from simulator.pipeline import run

    path = untrained_workload(tmp_path, shared_data)
    calls: dict[int, int] = {}

    def count(module: nn.Module, *_: object) -> None:
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            calls[id(module)] = calls.get(id(module), 0) + 1

    handle = torch.nn.modules.module.register_module_forward_hook(count)
    try:
        run(path, out=tmp_path / "first", progress=False, accuracy=False)
        first = dict(calls)
        calls.clear()
        shutil.rmtree(cache / "mappings")
        shutil.rmtree(cache / "lowered")
        run(path, out=tmp_path / "again", progress=False, accuracy=False)
    finally:
        handle.remove()
    # LeNet-5: two Conv2d and three Linear layers, each called once per pass.
    assert sorted(first.values()) == sorted(calls.values()) == [1] * 5
