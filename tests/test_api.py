"""The Python API (simulator.api, issue #18): `simulate` on a model defined here and on a workload
file, the stage entry points agreeing with it, the notebook views of the results, clear errors for
bad arguments, and examples/api_quickstart.py run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

import simulator
from simulator.api import ArgumentError, Simulation
from simulator.config import load_workload

REPO = Path(__file__).resolve().parents[1]


def small_cnn(seed: int = 0, density: float = 0.1) -> nn.Module:
    """A conv-pool-conv-pool-linear network with a seeded share of its weights set to zero."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.mul_((torch.rand_like(module.weight) < density).float())
    return model


def own_labels(model: nn.Module, images: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Random images labelled by the model itself: its float accuracy on them is exactly 1."""
    x = torch.randn(images, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return x, model.eval()(x).argmax(1)


MAPPING = {"crossbar_size": 32, "reorder": "kmeans"}


def test_import_simulator_stays_light() -> None:
    code = ("import sys, simulator; simulator.Simulation; simulator.simulate; "
            "assert 'torch' not in sys.modules, 'torch imported'; print(simulator.__all__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "simulate" in done.stdout and "fault_study" in done.stdout
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        simulator.nonsense  # noqa: B018 - the attribute access is the test


def test_simulate_an_inline_model_agrees_with_the_stage_entry_points() -> None:
    model = small_cnn()
    sim = simulator.simulate(model, (1, 16, 16), hardware="sparse_small", mapping=MAPPING, baseline="prime")
    assert isinstance(sim, Simulation) and sim.name == "Sequential"
    assert list(sim.chips) == ["workload", "dense", "baseline"]
    assert sim.chips["baseline"].hardware == "prime" and sim.chip.hardware == "sparse_small"
    assert sim.chip.crossbar_size == 32 and sim.chips["baseline"].crossbar_size == 256
    assert sim.accuracy is None and sim.faults is None and sim.fault_study is None and sim.report is None

    # The stages one by one give the very same mapping and chip.
    mapped = simulator.map_network(model, (1, 16, 16), hardware="sparse_small", **MAPPING)
    assert sim.mapped is not None and sim.mapped.table().drop(columns="mapping_seconds").equals(
        mapped.table().drop(columns="mapping_seconds"))
    assert (sim.tiles_placed, sim.tiles_dense) == (mapped.tiles_placed, mapped.tiles_dense)
    # The zeros are pruned weights: not held, and tiles of zeros not placed.
    nonzeros = sum(int(torch.count_nonzero(m.weight)) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    assert int(mapped.table()["nonzeros"].sum()) == nonzeros and mapped.tiles_placed < mapped.tiles_dense
    chip = simulator.evaluate_hardware(mapped, simulator.dataflow(model, (1, 16, 16)), "sparse_small")
    assert chip.summary == sim.chip
    assert sim.hardware is not None and sim.hardware.workload.summary == sim.chip
    assert sim.versus["baseline"] == sim.hardware.workload.versus(sim.hardware.others()["baseline"])

    frame = sim.to_frame()
    assert list(frame["chip"]) == ["workload", "dense", "baseline"]
    assert frame.loc[0, "energy_per_inference_pj"] == sim.chip.energy_per_inference_pj
    assert frame.loc[2, "workload_energy_efficiency"] == sim.versus["baseline"].energy_efficiency
    assert list(sim.layers["layer"]) == ["0", "3", "7"] and "energy_pj" in sim.layers
    content = json.loads(json.dumps(sim.to_dict()))
    assert content["tiles_placed"] == sim.tiles_placed and set(content["chips"]) == set(sim.chips)
    page = sim._repr_html_()
    assert f"{sim.chip.energy_per_inference_pj / 1e6:,.4f} uJ" in page
    assert f"{sim.tiles_placed:,} placed of {sim.tiles_dense:,} dense" in page and "dense baseline chip" in page


def test_simulate_measures_accuracy_and_faults_on_given_tensors() -> None:
    model = small_cnn()
    x, y = own_labels(model)
    faults = {"rates": [0.0, 0.05], "encodings": ["two-column", "differential"], "runs": 2}
    sim = simulator.simulate(model, hardware="sparse_small", mapping=MAPPING, data=(x, y), faults=faults, seed=3)
    assert sim.accuracy == 1.0     # labels are the model's own answers; input_shape came from x
    assert sim.fault_study is not None and sim.faults == sim.fault_study.points()
    assert [(p.encoding, p.rate, p.runs) for p in sim.faults] == [
        ("two-column", 0.0, 2), ("two-column", 0.05, 2), ("differential", 0.0, 2), ("differential", 0.05, 2)]
    assert sim.faults[0].mean > 0.9        # quantized to 8 bits, no faults
    assert sim.faults[1].mean < sim.faults[0].mean
    assert sim.mapped is not None and sim.mapped.setup.seed == 3

    again = simulator.fault_study(model, sim.mapped, (x, y), faults)
    assert again.to_frame().equals(sim.fault_study.to_frame())   # draws seeded by the mapping's seed
    assert json.loads(json.dumps(again.to_dict()))["spec"]["runs"] == 2
    page = sim._repr_html_() + again._repr_html_()
    assert "accuracy (float weights)" in page and "100.00 %" in page
    assert "differential" in page and "fault rate" in page


def test_stage_results_show_themselves_in_a_notebook() -> None:
    model = small_cnn()
    mapped = simulator.map_network(model, (1, 16, 16), hardware="prime", reorder="compact", crossbar_size=64)
    assert mapped.to_frame().equals(mapped.table())
    content = json.loads(json.dumps(mapped.to_dict()))
    assert content["setup"]["size"] == 64 and content["setup"]["reorder"] == "compact"
    assert content["totals"]["tiles_placed"] == mapped.tiles_placed
    assert [row["layer"] for row in content["layers"]] == ["0", "3", "7"]
    page = mapped._repr_html_()
    assert "64x64 crossbars, compact" in page and f"{mapped.tiles_placed:,} of {mapped.tiles_dense:,} dense" in page

    chip = simulator.evaluate_hardware(mapped, simulator.dataflow(model, (1, 16, 16)), "prime", sizing="fixed",
                                       execution="pipelined", images=2)
    assert chip.summary.sizing == "fixed" and chip.summary.execution == "pipelined"
    assert chip.summary.images_simulated == 2
    assert chip.to_frame().equals(chip.layers)
    content = json.loads(json.dumps(chip.to_dict()))
    assert content["summary"]["tiles"] == chip.summary.tiles and len(content["layers"]) == 3
    page = chip._repr_html_()
    assert "energy by component" in page and f"{chip.summary.area_mm2:,.3f} mm^2" in page


def shipped_workload(folder: Path, data_dir: Path) -> Path:
    """workloads/lenet5_mnist_sparse.yaml (shipped checkpoint) on 300 test images, a short fault study."""
    doc = yaml.safe_load((REPO / "workloads" / "lenet5_mnist_sparse.yaml").read_text())
    doc["hardware"] = str(REPO / "hwconfigs" / "sparse_small.yaml")
    doc["model"]["checkpoint"] = str(REPO / "checkpoints" / "lenet5_mnist_sparse_8.pt")
    doc["hardware_study"]["baseline"] = str(REPO / "hwconfigs" / "prime.yaml")
    doc["data"] = {"dataset": "mnist", "test_samples": 300}
    doc["faults"] = {"rates": [1e-2], "encodings": ["two-column", "differential"], "runs": 2}
    path = folder / "lenet5_api.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_workload_path_runs_the_pipeline_and_a_model_gives_its_figures(tmp_path: Path, shared_data: Path,
                                                                       cache: Path) -> None:
    path = shipped_workload(tmp_path, shared_data)
    sim = simulator.simulate(path, data_dir=shared_data, out=tmp_path / "out")
    assert sim.out_dir == tmp_path / "out" and (sim.out_dir / "report.json").is_file()
    assert sim.report is not None and sim.mapped is None and sim.name == "lenet5_mnist_sparse"
    assert list(sim.chips) == ["workload", "dense", "baseline"]
    assert sim.chip == sim.report.hardware.summary and sim.tiles_placed == sim.report.totals.tiles_placed
    assert sim.accuracy is not None and sim.accuracy > 0.9 and sim.faults is not None and len(sim.faults) == 2
    assert "results folder" in sim._repr_html_()

    # The same network in memory, with the workload's own chip, mapping and test images: the same figures.
    from simulator.data.load import load_data
    from simulator.network.tensors import tensors_of
    from simulator.preparation import load_shipped

    workload = load_workload(path)
    arrays = load_data(workload, shared_data)
    model = load_shipped(workload, arrays).model
    tensors = tensors_of(arrays)
    faults = workload.config.faults
    assert faults is not None
    mine = simulator.simulate(model, hardware=workload.hardware, mapping=workload.config.mapping,
                              baseline=REPO / "hwconfigs" / "prime.yaml", data=(tensors.x_test, tensors.y_test),
                              faults=faults)
    assert mine.chips == sim.chips and mine.versus == sim.versus
    assert mine.accuracy == sim.accuracy and mine.faults == sim.faults
    # A data set by name: its test images normalised as resim trains, the input shape from them.
    named = simulator.simulate(model, hardware=workload.hardware, mapping=workload.config.mapping,
                               data={"dataset": "mnist", "test_samples": 300}, data_dir=shared_data)
    assert named.accuracy == sim.accuracy and named.chip == sim.chip and "baseline" not in named.chips


@pytest.mark.parametrize(("arguments", "argument", "words"), [
    ({"model": 42}, "model", "expected a torch.nn.Module or the path of a workload YAML file, got int"),
    ({"model": nn.ReLU()}, "model", "has no Conv2d or Linear layer"),
    ({"input_shape": None}, "input_shape", "give the (C, H, W) of one input"),
    ({"input_shape": (1, 16)}, "input_shape", "expected (C, H, W), three whole numbers > 0, got (1, 16)"),
    ({"input_shape": (1, 28, 28)}, "input_shape", "does not run on one input of shape (1, 28, 28)"),
    ({"hardware": "primo"}, "hardware", "no shipped design is called 'primo' (did you mean prime?); shipped "
                                        "designs: isaac, prime, sparse_small"),
    ({"hardware": "missing/chip.yaml"}, "hardware", "no hardware file at missing/chip.yaml"),
    ({"hardware": 3}, "hardware", "expected a shipped design"),
    ({"baseline": "nope"}, "baseline", "baseline: no hardware file at nope, and no shipped design is called 'nope'"),
    ({"mapping": {"reorder": "zigzag"}}, "mapping", "mapping.reorder: Input should be 'none', 'skip-empty'"),
    ({"mapping": {"crossbar_size": 4}}, "mapping", "mapping.crossbar.size: Input should be greater than or equal "
                                                   "to 8 (got 4)"),
    ({"mapping": {"colour": "red"}}, "mapping", "mapping.colour: unknown key; allowed keys here: crossbar, "
                                                "weight_bits"),
    ({"mapping": {"crossbar_prune": {}}}, "mapping", "mapping.crossbar_prune: crossbar-grained pruning fine-tunes"),
    ({"mapping": ["kmeans"]}, "mapping", "expected a dict of mapping keys or a MappingSpec, got list"),
    ({"faults": {"rates": [0.1]}}, "faults", "the fault study measures accuracy on test images: pass data="),
    ({"faults": {"rates": [2.0]}, "data": "tensors"}, "faults", "faults.rates: fault rates must lie in [0, 1], "
                                                               "got [2.0]"),
    ({"faults": {"only_layers": ["fc9"]}, "data": "tensors"}, "faults",
     "faults.only_layers: unknown layer 'fc9'; allowed: 0, 3, 7 (got 'fc9')"),
    ({"data": "imagenet"}, "data", "data.dataset: Input should be 'mnist', 'fashion-mnist'"),
    ({"data": (torch.zeros(4, 1, 16, 16), torch.zeros(3))}, "data", "(x, y) must be images (N, C, H, W) and N "
                                                                   "integer labels"),
    ({"sizing": "huge"}, "sizing", "sizing: 'huge' is not allowed; allowed: fixed, fit, iso-area"),
    ({"sizing": "iso-area"}, "sizing", "'iso-area' gives the chip the baseline chip's area; pass baseline="),
    ({"study": {"execution": "warp"}}, "study", "study.execution: Input should be 'file', 'layer-sequential' or "
                                                "'pipelined'"),
    ({"study": {"sizing": "fit"}}, "study", "study.sizing: give it as the argument sizing=... instead"),
    ({"seed": -1}, "seed", "seed: a whole number in [0, 2^32), got -1"),
    ({"out": "results/x"}, "out", "out names the results folder of a workload file's run"),
])
def test_bad_arguments_name_the_argument_and_what_is_allowed(arguments: dict, argument: str, words: str) -> None:
    given = {"model": small_cnn(), "input_shape": (1, 16, 16), **arguments}
    if given.get("data") == "tensors":
        given["data"] = own_labels(given["model"], 8)
    with pytest.raises(ArgumentError) as error:
        simulator.simulate(**given)
    assert error.value.argument == argument
    assert words in str(error.value), str(error.value)
    assert str(error.value).startswith(argument), str(error.value)


def test_bad_arguments_of_a_workload_path_and_of_the_stages(tmp_path: Path) -> None:
    workload = REPO / "workloads" / "lenet5_mnist_sparse.yaml"
    with pytest.raises(ArgumentError, match=r"^hardware: a workload file sets this itself \(hardware in "):
        simulator.simulate(workload, hardware="prime")
    with pytest.raises(ArgumentError, match=r"^model: no workload file at .*nowhere\.yaml"):
        simulator.simulate(tmp_path / "nowhere.yaml")
    model = small_cnn()
    mapped = simulator.map_network(model, (1, 16, 16))
    other = simulator.dataflow(nn.Sequential(nn.Linear(4, 2)), (1, 1, 4))
    with pytest.raises(ArgumentError, match=r"^flow: its layers are not the mapped network's"):
        simulator.evaluate_hardware(mapped, other)
    flow = simulator.dataflow(model, (1, 16, 16))
    with pytest.raises(ArgumentError, match=r"^area_mm2: give it with sizing 'iso-area'"):
        simulator.evaluate_hardware(mapped, flow, sizing="iso-area")
    with pytest.raises(ArgumentError, match=r"^execution: Input should be 'file', 'layer-sequential' or 'pipelined' "
                                            r"\(got 'warp'\)"):
        simulator.evaluate_hardware(mapped, flow, execution="warp")
    with pytest.raises(ArgumentError, match=r"^replica_budget: Input should be greater than or equal to 0 \(got -1"):
        simulator.evaluate_hardware(mapped, flow, replica_budget=-1)
    with pytest.raises(ArgumentError, match=r"^images: Input should be greater than or equal to 1 \(got 0\)"):
        simulator.evaluate_hardware(mapped, flow, images=0)
    with pytest.raises(ArgumentError, match=r"^setup: layer demands need the MappingSetup"):
        simulator.evaluate_hardware([], flow)
    with pytest.raises(ArgumentError, match=r"^mapped: expected the MappedNetwork"):
        simulator.fault_study(model, "tiles", own_labels(model, 8))  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"^faults\.bit_true: the bit-true study emulates a chip's DACs"):
        simulator.fault_study(model, mapped, own_labels(model, 8), {"bit_true": True, "rates": [0.0], "runs": 1})


def test_the_quickstart_example_runs_and_prints_its_figures(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    env = {**os.environ, "RESIM_DATA": str(shared_data)}
    done = subprocess.run([sys.executable, str(REPO / "examples" / "api_quickstart.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for words in ("crossbars placed of", "energy (uJ)", "latency (us)", "area (mm^2)", "under stuck-at faults",
                  "differential", "two-column"):
        assert words in out, out
    assert (tmp_path / "api_quickstart.png").stat().st_size > 10_000
