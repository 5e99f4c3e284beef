"""Issue #29: the shipped designs, workloads and checkpoints are package data named by name
wherever a path is accepted (a path that exists wins), `resim list` describes them from their
files, and `resim init` copies a workload out for editing."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
import yaml
from typer.testing import CliRunner

from simulator import catalog, shipped
from simulator.api import ArgumentError, hardware_config
from simulator.cli import app
from simulator.config.errors import ConfigError
from simulator.config.loader import load_workload, validate_file
from simulator.network.compact import read_info
from simulator.sweep.grid import overridden_workload

REPO = Path(__file__).resolve().parents[1]
KINDS: tuple[shipped.Kind, ...] = ("hardware", "workload", "checkpoint")


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's folder outside the checkout, as the current folder."""
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


# ----------------------------------------------------------------------------- package data

@pytest.mark.parametrize("kind", KINDS)
def test_package_data_is_the_top_level_folder_itself(kind: shipped.Kind) -> None:
    """One copy in the source tree: simulator/resources/<folder> leads to the top-level folder."""
    assert shipped.folder(kind).resolve() == REPO / shipped.FOLDERS[kind]


def test_the_wheel_patterns_take_every_shipped_file() -> None:
    """pyproject's package-data patterns for `simulator` match every file of the three folders
    (a workload in a new subfolder would otherwise be missing from the wheel)."""
    tomllib = pytest.importorskip("tomllib")    # Python 3.11+
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = [PurePosixPath(p) for p in config["tool"]["setuptools"]["package-data"]["simulator"]]
    files = [p for kind in KINDS for p in (REPO / shipped.FOLDERS[kind]).rglob("*") if p.is_file()]
    assert len(files) > 30
    for path in files:
        inside = PurePosixPath("resources", path.relative_to(REPO).as_posix())
        assert any(len(inside.parts) == len(p.parts) and inside.match(str(p)) for p in patterns), inside


def test_names_are_read_from_the_folders() -> None:
    assert shipped.names("hardware") == sorted(p.stem for p in (REPO / "hwconfigs").glob("*.yaml"))
    workloads = shipped.names("workload")
    assert "vgg16_sparse" in workloads and "gpu/vgg16_cifar_sparse_7.5" in workloads
    assert len(workloads) == len(list((REPO / "workloads").rglob("*.yaml")))
    assert "vgg16_cifar_sparse_7.5.pt" in shipped.names("checkpoint")


# ----------------------------------------------------------------------------- names for paths

def test_a_workload_by_name_from_another_folder(elsewhere: Path) -> None:
    workload = load_workload("vgg16_sparse")
    assert workload.path == (REPO / "workloads" / "vgg16_sparse.yaml").resolve()
    assert workload.hardware.name == "sparse_small"
    # Its checkpoint, named relative to the workload file, is found where the workload is.
    assert workload.checkpoint_path == (REPO / "checkpoints" / "vgg16_cifar_sparse_7.5.pt").resolve()
    assert load_workload("gpu/vgg16_cifar_sparse_7.5").config.name == "vgg16_cifar_sparse_7.5"
    assert validate_file("prime") == "hardware" and validate_file("lenet5_mnist") == "workload"


def test_a_path_that_exists_wins_over_a_name(elsewhere: Path) -> None:
    text = (REPO / "workloads" / "lenet5_mnist.yaml").read_text(encoding="utf-8")
    (elsewhere / "vgg16_sparse").write_text(
        text.replace("name: lenet5_mnist", "name: mine").replace("../hwconfigs/prime.yaml", "isaac"), encoding="utf-8")
    workload = load_workload("vgg16_sparse")
    assert workload.config.name == "mine" and workload.hardware.name == "isaac"
    # A hardware file called like a shipped design, beside the workload, is the one it gets.
    (elsewhere / "isaac").write_text((REPO / "hwconfigs" / "sparse_small.yaml").read_text(), encoding="utf-8")
    assert load_workload("vgg16_sparse").hardware.name == "sparse_small"
    assert hardware_config("isaac").name == "sparse_small"
    assert hardware_config("prime").name == "prime"


def test_shipped_names_inside_a_users_workload(elsewhere: Path) -> None:
    document = yaml.safe_load((REPO / "workloads" / "lenet5_mnist_sparse.yaml").read_text(encoding="utf-8"))
    document["hardware"] = "isaac"
    document["hardware_study"]["baseline"] = "prime"
    document["model"]["checkpoint"] = "lenet5_mnist_sparse_8.pt"
    (elsewhere / "mine.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    workload = load_workload("mine.yaml")
    assert workload.hardware.name == "isaac"
    assert workload.hardware_path == (REPO / "hwconfigs" / "isaac.yaml").resolve()
    assert workload.checkpoint_path == (REPO / "checkpoints" / "lenet5_mnist_sparse_8.pt").resolve()
    # A sweep point's copy lives elsewhere: the names become the shipped files' paths.
    point = overridden_workload(elsewhere / "mine.yaml", ["hardware=sparse_small"])
    assert point["hardware"] == str((REPO / "hwconfigs" / "sparse_small.yaml").resolve())
    assert point["hardware_study"]["baseline"] == str((REPO / "hwconfigs" / "prime.yaml").resolve())
    assert point["model"]["checkpoint"] == str((REPO / "checkpoints" / "lenet5_mnist_sparse_8.pt").resolve())


def test_an_unknown_workload_name_lists_the_shipped_ones(elsewhere: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_workload("vgg16_spars")
    message = str(info.value)
    assert message.startswith("vgg16_spars: no such file; no shipped workload is called 'vgg16_spars' (did you "
                              "mean vgg16_sparse?); shipped workloads: alexnet_sparse, lenet5_mnist,")
    assert "gpu/vgg19_cifar_sparse_4 (`resim list` describes them)" in message
    # On the command line: one line, exit 1, no traceback.
    result = CliRunner().invoke(app, ["run", "vgg16_spars", "--no-accuracy"])
    assert result.exit_code == 1
    assert "no shipped workload is called 'vgg16_spars' (did you mean vgg16_sparse?)" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_design_name_in_a_workload_lists_the_shipped_ones(elsewhere: Path) -> None:
    text = (REPO / "workloads" / "lenet5_mnist.yaml").read_text(encoding="utf-8")
    (elsewhere / "mine.yaml").write_text(text.replace("../hwconfigs/prime.yaml", "primo"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_workload("mine.yaml")
    assert str(info.value) == (
        "mine.yaml: hardware: hardware file not found at primo, and no shipped "
        "design is called 'primo' (did you mean prime?); shipped designs: isaac, prime, sparse_small (`resim list` "
        "describes them) (got 'primo')")


def test_the_api_takes_names_and_lists_them(elsewhere: Path) -> None:
    assert hardware_config("isaac").name == "isaac"
    with pytest.raises(ArgumentError, match=r"^hardware: no hardware file at isac, and no shipped design is called "
                                            r"'isac' \(did you mean isaac\?\); shipped designs: isaac, prime"):
        hardware_config("isac")
    import simulator

    with pytest.raises(ArgumentError, match=r"no shipped workload is called 'vgg16_spars' \(did you mean "
                                            r"vgg16_sparse\?\)"):
        simulator.simulate("vgg16_spars")


# ----------------------------------------------------------------------------- resim list

def test_resim_list_describes_every_shipped_file_from_its_contents() -> None:
    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    named = [line.split()[0] for line in lines if line.startswith("  ")]
    assert named == shipped.names("hardware") + shipped.names("workload")
    by_name = {line.split()[0]: line for line in lines if line.startswith("  ")}
    assert by_name["prime"].split(None, 1)[1] == ("256x256 arrays of 4-bit cells, 6-bit inputs, 128 tiles x 64 "
                                                  "arrays, layer-sequential, 32 nm")
    accuracy = read_info(REPO / "checkpoints" / "vgg16_cifar_sparse_7.5.pt")["metrics"]["test_accuracy"]
    assert by_name["vgg16_sparse"].split(None, 1)[1] == (
        "vgg16_bn / cifar10, density 7.5 %, 32x32 crossbars on sparse_small vs prime, trained (shipped "
        f"checkpoint), test accuracy {accuracy * 100:.2f} % at export")
    assert by_name["lenet5_mnist"].endswith("lenet5 / mnist, dense, 128x128 crossbars on prime, trains on its first "
                                            "run (8 epochs)")
    assert by_name["vgg16_cifar_untrained"].endswith("untrained (initial weights)")


# ----------------------------------------------------------------------------- resim init

@pytest.mark.parametrize("name", shipped.names("workload"))
def test_init_copies_a_workload_that_runs_as_the_shipped_one(name: str, elsewhere: Path) -> None:
    copied = catalog.init(name, elsewhere)
    assert copied.workload == elsewhere / f"{name.rsplit('/', 1)[-1]}.yaml" and copied.hardware == []
    original, copy = load_workload(name), load_workload(copied.workload)
    assert copy.hardware == original.hardware and copy.hardware_path == original.hardware_path
    assert copy.checkpoint_path == original.checkpoint_path
    unchanged = ("hardware", "hardware_study", "model")
    assert {k: v for k, v in copy.config if k not in unchanged} == \
        {k: v for k, v in original.config if k not in unchanged}
    # Comments travel with it.
    assert copied.workload.read_text(encoding="utf-8").count("#") > 2


def test_init_with_hardware_copies_the_designs_beside_it(elsewhere: Path) -> None:
    result = CliRunner().invoke(app, ["init", "vgg16_sparse", "--hardware", "--to", "mine"])
    assert result.exit_code == 0, result.output
    folder = elsewhere / "mine"
    assert sorted(p.name for p in folder.iterdir()) == ["prime.yaml", "sparse_small.yaml", "vgg16_sparse.yaml"]
    document = yaml.safe_load((folder / "vgg16_sparse.yaml").read_text(encoding="utf-8"))
    assert (document["hardware"], document["hardware_study"]["baseline"]) == ("sparse_small.yaml", "prime.yaml")
    assert document["model"]["checkpoint"] == "vgg16_cifar_sparse_7.5.pt"
    workload = load_workload(folder / "vgg16_sparse.yaml")
    assert workload.hardware_path == (folder / "sparse_small.yaml").resolve()
    # Edits to the copy are what a run reads.
    (folder / "sparse_small.yaml").write_text(
        (folder / "sparse_small.yaml").read_text(encoding="utf-8").replace("name: sparse_small", "name: edited"),
        encoding="utf-8")
    assert load_workload(folder / "vgg16_sparse.yaml").hardware.name == "edited"


def test_init_keeps_what_is_there_unless_forced(elsewhere: Path) -> None:
    (elsewhere / "lenet5_mnist.yaml").write_text("mine\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["init", "lenet5_mnist"])
    assert result.exit_code == 1
    assert "lenet5_mnist.yaml: is already there; pass --force to overwrite it" in result.output
    assert (elsewhere / "lenet5_mnist.yaml").read_text(encoding="utf-8") == "mine\n"
    assert CliRunner().invoke(app, ["init", "lenet5_mnist", "--force"]).exit_code == 0
    assert load_workload(elsewhere / "lenet5_mnist.yaml").config.name == "lenet5_mnist"


def test_init_of_an_unknown_name_lists_the_shipped_ones(elsewhere: Path) -> None:
    result = CliRunner().invoke(app, ["init", "lenet"])
    assert result.exit_code == 1
    assert result.output.startswith("lenet: no shipped workload is called 'lenet' (did you mean lenet5_mnist?); "
                                    "shipped workloads: alexnet_sparse,")
    assert list(elsewhere.iterdir()) == []


def test_run_with_set_on_a_name_keeps_the_workload_file_name(elsewhere: Path) -> None:
    """`resim run NAME --set ...` writes the run's copy as <file name>.yaml in its folder."""
    from simulator.cli import _overridden

    copy, out = _overridden(Path("lenet5_mnist_sparse"), ["mapping.crossbar.size=16"], elsewhere / "out",
                            accuracy=False)
    assert copy == elsewhere / "out" / "lenet5_mnist_sparse.yaml"
    assert load_workload(copy).crossbar_size == 16


def test_a_sweep_file_names_a_shipped_workload(elsewhere: Path) -> None:
    from simulator.sweep.grid import grid_from_file

    (elsewhere / "sweep.yaml").write_text("workload: lenet5_mnist_sparse\ngrid:\n  mapping.crossbar.size: [16, 32]\n",
                                          encoding="utf-8")
    grid = grid_from_file(elsewhere / "sweep.yaml")
    assert grid.workload == (REPO / "workloads" / "lenet5_mnist_sparse.yaml").resolve()
    (elsewhere / "sweep.yaml").write_text("workload: lenet5_mnist_spars\ngrid:\n  mapping.crossbar.size: [16]\n",
                                          encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sweep\.yaml: workload: file not found at .*lenet5_mnist_spars, and no "
                                          r"shipped workload is called 'lenet5_mnist_spars' \(did you mean "
                                          r"lenet5_mnist_sparse\?\)"):
        grid_from_file(elsewhere / "sweep.yaml")
