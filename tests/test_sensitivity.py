"""Every verdict with its sensitivity (issue #23 item 7): the hardware files' alternatives are
validated, varying one assumption moves the headline ratios as the chip model says it must, the
shared-assumption rule picks the chips, and `resim run` reports the table and the tornado plot
unless --no-sensitivity."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn
from typer.testing import CliRunner

import simulator
import simulator.api
from simulator.config import ConfigError, load_hardware
from simulator.config.hardware import is_assumption
from simulator.hardware import study
from simulator.hardware.sensitivity import Ratios, assumed_fields, plans, sensitivity

REPO = Path(__file__).resolve().parents[1]
SPARSE = REPO / "hwconfigs" / "sparse_small.yaml"
PRIME = REPO / "hwconfigs" / "prime.yaml"


def with_alternatives(folder: Path, base: Path, alternatives: dict, **top: object) -> Path:
    """`base` with its alternatives replaced by `alternatives` (and top-level fields by `top`)."""
    doc = yaml.safe_load(base.read_text())
    doc["alternatives"] = alternatives
    doc.update(top)
    path = folder / f"{base.stem}_edited.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def alternative(value: object, source: str = "Assumption: a test value") -> dict:
    return {"value": value, "source": source}


# ----------------------------------------------------------------------------- the files

def test_shipped_files_give_alternatives_for_every_assumed_number() -> None:
    for path in (SPARSE, PRIME, REPO / "hwconfigs" / "isaac.yaml"):
        hardware = load_hardware(path)
        missing = [key for key in assumed_fields(hardware) if key not in hardware.alternatives]
        assert missing == [], f"{path.name}: assumptions without alternatives: {missing}"
        for key, options in hardware.alternatives.items():
            assert options and all(o.source.strip() for o in options), key
            for option in options:      # the loader lets these pass for edited files; shipped ones hold them
                assert option.value != hardware.value_at(key), (path.name, key, option.value)
                hardware.with_value(key, option.value)
    # What the issue names is among them.
    keys = set(load_hardware(SPARSE).alternatives)
    assert {"leakage_share", "adc.max_bits", "adc.bits", "cycle_ns", "array.read_latency_ns",
            "array.read_energy_pj_per_cell", "technology_nm", "composition.tree_energy_pj", "buffer.energy_pj",
            "buffer.capacity_bytes", "dac.one_bit_energy_pj"} <= keys


@pytest.mark.parametrize(("alternatives", "where", "says"), [
    ({"adc.max_bit": [alternative(6)]}, "alternatives.adc.max_bit", "max_bit is no numeric or enum field of adc"),
    ({"adcs.max_bits": [alternative(6)]}, "alternatives.adcs.max_bits", "adcs is no block"),
    ({"name": [alternative("x")]}, "alternatives.name", "name is no numeric or enum field of the top level"),
    ({"adc.max_bits": [alternative(99)]}, "alternatives.adc.max_bits[0].value", "less than or equal to 16"),
    ({"adc.bits": [alternative(6.5)]}, "alternatives.adc.bits[0].value", "a valid integer"),
    ({"chip.power_gating": [alternative("sometimes")]}, "alternatives.chip.power_gating[0].value",
     "'none' or 'idle-arrays'"),
    ({"leakage_share": [alternative(0.1), alternative(1.5)]}, "alternatives.leakage_share[1].value",
     "less than 1"),
    ({"leakage_share": []}, "alternatives.leakage_share", "lists no alternative"),
])
def test_bad_alternatives_name_the_file_and_key(tmp_path: Path, alternatives: dict, where: str, says: str) -> None:
    path = with_alternatives(tmp_path, SPARSE, alternatives)
    with pytest.raises(ConfigError) as caught:
        load_hardware(path)
    message = str(caught.value)
    assert str(path) in message and f": {where}: " in message and says in message, message


def test_a_file_edited_elsewhere_keeps_loading_and_the_study_says_what_it_skips(tmp_path: Path) -> None:
    """Values that clash only with the rest of the file (another helper's edit, a test's) or equal
    the value in use load; the study skips them with the reason."""
    path = with_alternatives(tmp_path, SPARSE, {"adc.bits": [alternative(3), alternative(6)],
                                                "array.packing": [alternative("across-arrays")],
                                                "leakage_share": [alternative(0.2), alternative(0.4)]})
    chip = load_hardware(path)
    sim = simulator.simulate(small_cnn(), (1, 16, 16), hardware=chip, mapping=MAPPING, baseline="prime",
                             study={"sensitivity": True})
    assert sim.sensitivity is not None
    rows = {row.key: row for row in sim.sensitivity.assumptions}
    bits, six = rows["adc.bits"].variations
    assert bits.skipped is not None and "not in energy_pj_by_bits" in bits.skipped and six.ratios is not None
    packing = rows["array.packing"].variations[0]
    assert packing.skipped is not None and "adjacent-columns" in packing.skipped
    same, other = rows["leakage_share"].variations[:2]      # then prime.yaml's 0.1: a shared assumption
    assert same.skipped == "the value the file uses" and other.ratios is not None


def test_an_alternative_needs_a_source(tmp_path: Path) -> None:
    path = with_alternatives(tmp_path, SPARSE, {"leakage_share": [{"value": 0.4}]})
    with pytest.raises(ConfigError, match=r"alternatives\.leakage_share\[0\]\.source: required key is missing"):
        load_hardware(path)
    path = with_alternatives(tmp_path, SPARSE, {"leakage_share": [{"value": 0.4, "source": ""}]})
    with pytest.raises(ConfigError, match=r"alternatives\.leakage_share\[0\]\.source"):
        load_hardware(path)


def test_alternatives_leave_the_config_hash_of_a_workload_without_sensitivity(tmp_path: Path) -> None:
    from simulator.config import load_workload

    doc = yaml.safe_load((REPO / "workloads" / "lenet5_mnist_sparse.yaml").read_text())
    doc.update(hardware=str(with_alternatives(tmp_path, SPARSE, {"leakage_share": [alternative(0.3)]})),
               model={**doc["model"], "checkpoint": None})
    doc["hardware_study"]["baseline"] = str(PRIME)
    workload = tmp_path / "a.yaml"
    workload.write_text(yaml.safe_dump(doc))
    hashes = [load_workload(workload).config_hash()]
    with_alternatives(tmp_path, SPARSE, {"leakage_share": [alternative(0.4)]})   # the same file, rewritten
    hashes.append(load_workload(workload).config_hash())
    doc["hardware_study"]["sensitivity"] = True
    workload.write_text(yaml.safe_dump(doc))
    hashes.append(load_workload(workload).config_hash())
    with_alternatives(tmp_path, SPARSE, {"leakage_share": [alternative(0.3)]})
    hashes.append(load_workload(workload).config_hash())
    # Off: alternatives change no figure, nor the hash. On: they make the report's table.
    assert hashes[0] == hashes[1] and len({hashes[1], hashes[2], hashes[3]}) == 3


# ----------------------------------------------------------------------------- the study

def small_cnn(seed: int = 0, density: float = 0.1) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.mul_((torch.rand_like(module.weight) < density).float())
    return model


MAPPING = {"crossbar_size": 32, "reorder": "kmeans"}


def test_shared_assumptions_move_both_chips_and_own_ones_one() -> None:
    chip, base = load_hardware(SPARSE), load_hardware(PRIME)
    varied = {key: where for key, where, _ in plans(chip, base)}
    assert varied["leakage_share"] == "both"              # 0.2 in both, an assumption in both
    assert varied["adc.max_bits"] == "chip"               # 8 here, PRIME's published 6 there
    assert varied["adc.arrays_per_adc"] == "chip"         # the sparse chip's ADC sharing, not PRIME's
    assert varied["tile.arrays"] == "baseline"            # PRIME's assumption; sparse_small derives its own
    assert is_assumption(base.source_of("tile.arrays")) and not is_assumption(chip.source_of("tile.arrays"))


def test_higher_leakage_costs_the_chip_energy_and_the_ratios_follow(tmp_path: Path) -> None:
    # leakage_share 0.25 here and 0.2 in prime.yaml: an assumption of this chip alone.
    path = with_alternatives(tmp_path, SPARSE, {"leakage_share": [alternative(0.5), alternative(0.05)],
                                                "composition.tree_energy_pj": [alternative(0.21)],
                                                "array.cell_bits": [alternative(1, "PRIME: 1-bit test")]},
                             leakage_share=0.25)
    chip = load_hardware(path)
    sim = simulator.simulate(small_cnn(), (1, 16, 16), hardware=chip, mapping=MAPPING, baseline="prime",
                             study={"sensitivity": True})
    varied = sim.sensitivity
    assert varied is not None
    assert varied.headline == Ratios(energy_vs_dense=sim.versus["dense"].energy_efficiency,
                                     speedup_vs_dense=sim.versus["dense"].speedup,
                                     energy_vs_baseline=sim.versus["baseline"].energy_efficiency,
                                     speedup_vs_baseline=sim.versus["baseline"].speedup)
    rows = {row.key: row for row in varied.assumptions if row.varied_in == "chip"}
    leak = rows["leakage_share"]
    assert {(row.key, row.varied_in) for row in varied.assumptions if row.key == "leakage_share"} == {
        ("leakage_share", "chip"), ("leakage_share", "baseline")}     # 0.25 here, 0.2 in prime.yaml
    assert leak.value == 0.25 and [v.value for v in leak.variations] == [0.5, 0.05]
    more, less = (v.ratios for v in leak.variations)
    assert more is not None and less is not None
    base = varied.headline.energy_vs_baseline
    assert base is not None and more.energy_vs_baseline is not None and less.energy_vs_baseline is not None
    # More leakage: more energy on this chip, the baseline unchanged, so a lower efficiency over it.
    assert more.energy_vs_baseline < base < less.energy_vs_baseline
    assert more.speedup_vs_baseline == less.speedup_vs_baseline == varied.headline.speedup_vs_baseline
    tree = rows["composition.tree_energy_pj"].variations[0].ratios
    assert tree is not None and tree.energy_vs_baseline is not None and tree.energy_vs_baseline < base
    cells = rows["array.cell_bits"].variations[0]
    assert cells.ratios is None and cells.skipped is not None and "changes the mapping" in cells.skipped
    table = varied.table()
    assert list(table["assumption"])[:1] != ["array.cell_bits"] and "largest swing" in table.columns
    assert "skipped: changes the mapping" in str(table.set_index("assumption").loc["array.cell_bits", "note"])


def hardware_of(model: nn.Module, inputs: study.StudyInputs, base: object) -> tuple[study.HardwareStudy, list]:
    """The hardware study of a network held in memory (the session `simulator.simulate` runs), and
    every request with its mapping."""
    from simulator.pipeline import Session

    session = Session.of_model(model, (1, 16, 16), inputs, base)      # type: ignore[arg-type]
    return session.hardware(), list(zip(session.requests, session.mappings()))


def test_each_variation_equals_a_fresh_study_of_the_changed_files() -> None:
    """The shared event-model runs and the chips left alone change nothing: each alternative's
    ratios are those of a whole new hardware study on files that hold it."""
    chip, base = load_hardware(SPARSE), load_hardware(PRIME)
    inputs = study.StudyInputs(chip, simulator.api.mapping_spec(MAPPING),
                               simulator.api.study_spec({"sensitivity": True}, "fit", True), 0)
    result, pairs = hardware_of(small_cnn(), inputs, base)
    varied = sensitivity(inputs, pairs, result)
    assert varied is not None
    rows = {row.key: row for row in varied.assumptions}
    assert len(rows) == len(varied.assumptions)          # each key once: shared, or one file's
    for key, index in (("leakage_share", 1), ("network.link_bits_per_ns", 0), ("adc.max_bits", 1),
                       ("tile.arrays", 1)):
        row = rows[key]
        value = row.variations[index].value
        new_chip = chip.with_value(key, value) if row.varied_in != "baseline" else chip
        new_base = base.with_value(key, value) if row.varied_in != "chip" else base
        fresh = [(study.MappingRequest(r.label, new_base if r.label == "baseline" else new_chip, r.size, r.reorder), s)
                 for r, s in pairs]
        again = study.hardware_study(study.StudyInputs(new_chip, inputs.mapping, inputs.study, 0), fresh)
        assert row.variations[index].ratios == Ratios.of(again), key


def test_the_conductance_read_model_is_one_alternative_of_both_chips() -> None:
    """Both shipped files read their arrays per cell and list V^2 G t as the alternative: the study
    runs it on both chips at once (the same energy model for the design and its baseline), on
    mappings that record their cell levels, and its ratios are those of a study of two files
    that both hold it, not of the sparse chip alone."""
    chip, base = load_hardware(SPARSE), load_hardware(PRIME)
    key = "array.read_energy_model"
    assert chip.value_at(key) == base.value_at(key) == "per-cell"
    assert {key: where for key, where, _ in plans(chip, base)}[key] == "both"
    inputs = study.StudyInputs(chip, simulator.api.mapping_spec(MAPPING),
                               simulator.api.study_spec({"sensitivity": True}, "fit", True), 0)
    result, pairs = hardware_of(small_cnn(), inputs, base)
    assert all(request.levels and (demand.tile_levels >= 0).all() for request, stored in pairs
               for demand in stored.demands)
    varied = sensitivity(inputs, pairs, result)
    assert varied is not None
    row = next(row for row in varied.assumptions if row.key == key)
    assert row.varied_in == "both" and row.chips == ["sparse_small", "prime"]
    (variation,) = row.variations
    assert variation.value == "conductance" and variation.skipped is None and variation.ratios is not None

    def ratios(on_chip: bool, on_base: bool) -> Ratios:
        new_chip = chip.with_value(key, "conductance") if on_chip else chip
        new_base = base.with_value(key, "conductance") if on_base else base
        fresh = [(study.MappingRequest(r.label, new_base if r.label == "baseline" else new_chip, r.size, r.reorder,
                                       r.with_levels), s) for r, s in pairs]
        return Ratios.of(study.hardware_study(study.StudyInputs(new_chip, inputs.mapping, inputs.study, 0), fresh))

    assert variation.ratios == ratios(True, True)
    assert variation.ratios.energy_vs_baseline != ratios(True, False).energy_vs_baseline   # the baseline moved too
    assert variation.ratios != varied.headline


def test_cell_levels_are_recorded_only_for_a_study_that_varies_the_read_model() -> None:
    chip, base = load_hardware(SPARSE), load_hardware(PRIME)
    inputs = study.StudyInputs(chip, simulator.api.mapping_spec(MAPPING),
                               simulator.api.study_spec({"sensitivity": True}, "fit", True), 0)
    assert [r.levels for r in study.requests(inputs, base)] == [True, True, True]
    assert [r.levels for r in study.requests(inputs, base, sensitivity=False)] == [False, False, False]
    plain = study.StudyInputs(chip, inputs.mapping, simulator.api.study_spec({}, "fit", True), 0)
    assert [r.levels for r in study.requests(plain, base)] == [False, False, False]


def test_forked_workers_find_what_one_process_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The alternatives shared among two forked processes (as a hardware-only run without torch
    does) give the same study as one process."""
    chip, base = load_hardware(SPARSE), load_hardware(PRIME)
    inputs = study.StudyInputs(chip, simulator.api.mapping_spec(MAPPING),
                               simulator.api.study_spec({"sensitivity": True}, "fit", True), 0)
    from simulator.hardware import sensitivity as module

    result, pairs = hardware_of(small_cnn(), inputs, base)
    one = sensitivity(inputs, pairs, result, workers=1)
    assert module.parallel(2) == 1                  # torch is loaded here: no fork
    monkeypatch.delitem(sys.modules, "torch")       # the workers never touch it
    assert module.parallel(2) == 2
    forked = sensitivity(inputs, pairs, result, workers=2)
    assert one is not None and forked is not None
    assert forked.model_dump(exclude={"seconds"}) == one.model_dump(exclude={"seconds"})


def test_a_study_without_comparisons_has_no_sensitivity() -> None:
    sim = simulator.simulate(small_cnn(), (1, 16, 16), hardware="sparse_small", mapping=MAPPING,
                             study={"sensitivity": True, "compare_dense": False})
    assert sim.sensitivity is None
    plain = simulator.simulate(small_cnn(), (1, 16, 16), hardware="sparse_small", mapping=MAPPING, baseline="prime")
    assert plain.sensitivity is None


def test_verdict_names_the_flips() -> None:
    from simulator.hardware.sensitivity import AssumptionSensitivity, Sensitivity, Variation

    row = AssumptionSensitivity(key="leakage_share", varied_in="both", chips=["a", "b"], value=0.2, source="x",
                                variations=[Variation(value=0.4, source="y", ratios=Ratios(energy_vs_baseline=0.9)),
                                            Variation(value=0.1, source="z", ratios=Ratios(energy_vs_baseline=1.3))])
    varied = Sensitivity(headline=Ratios(energy_vs_baseline=1.1), assumptions=[row], not_varied=[], seconds=0.0)
    assert varied.flips() == [("leakage_share", "energy_vs_baseline", 0.4)]
    text = varied.verdict()
    assert "rest most on leakage_share" in text and "0.9x - 1.3x" in text and "flip" in text and "at 0.4" in text
    skipped = row.model_copy(update={"varied_in": "chip", "chips": ["a"],
                                     "variations": [Variation(value=0.4, source="y", skipped="why")]})
    still = Sensitivity(headline=Ratios(energy_vs_baseline=1.1), assumptions=[skipped], not_varied=[], seconds=0.0)
    assert still.flips() == [] and still.verdict().startswith("No alternative") and skipped.label == "leakage_share (a)"


# ----------------------------------------------------------------------------- resim run

@pytest.fixture
def lenet_workload(tmp_path: Path, shared_data: Path, cache: Path) -> Path:
    """The shipped sparse LeNet-5 (checkpoint shipped, no training) on sparse_small vs prime,
    hardware only, its sensitivity study on."""
    doc = yaml.safe_load((REPO / "workloads" / "lenet5_mnist_sparse.yaml").read_text())
    doc.pop("faults")
    doc["hardware"] = str(SPARSE)
    doc["model"]["checkpoint"] = str((REPO / "checkpoints" / "lenet5_mnist_sparse_8.pt").resolve())
    doc["data"]["dir"] = str(shared_data)
    doc["hardware_study"].update(baseline=str(PRIME), sensitivity=True)
    path = tmp_path / "lenet.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_run_reports_the_table_and_plot_and_no_sensitivity_leaves_them_out(lenet_workload: Path,
                                                                          tmp_path: Path) -> None:
    from simulator.cli import app

    out = tmp_path / "out"
    runner = CliRunner()
    done = runner.invoke(app, ["run", str(lenet_workload), "--no-accuracy", "--quiet", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "sensitivity: The verdicts rest most on" in done.output
    report = json.loads((out / "report.json").read_text())
    rows = report["sensitivity"]["assumptions"]
    assert {"leakage_share", "tile.arrays", "adc.max_bits"} <= {row["key"] for row in rows}
    swings = [row["largest_swing"] for row in rows]
    assert swings == sorted(swings, reverse=True) and swings[0] > 0
    ran = [v["ratios"]["energy_vs_baseline"] for v in rows[0]["variations"] if v["ratios"] is not None]
    assert rows[0]["ranges"]["energy_vs_baseline"] == [min(ran), max(ran)]
    assert report["timings"]["sensitivity_seconds"] > 0
    markdown = (out / "report.md").read_text()
    assert "## Sensitivity to the hardware files' assumptions" in markdown and "| leakage_share" in markdown
    assert (out / "sensitivity.png").is_file()
    html = (out / "report.html").read_text()
    assert 'id="sensitivity"' in html and "sensitivity.png" in html

    done = runner.invoke(app, ["run", str(lenet_workload), "--no-accuracy", "--quiet", "--out", str(out),
                               "--no-sensitivity"])
    assert done.exit_code == 0, done.output
    report = json.loads((out / "report.json").read_text())
    assert "sensitivity" not in report and "sensitivity_seconds" not in report["timings"]
    assert "Sensitivity" not in (out / "report.md").read_text()
    assert not (out / "sensitivity.png").exists()
    assert 'id="sensitivity"' not in (out / "report.html").read_text()


# ----------------------------------------------------------------------------- the study's cache

def sensitivity_section(folder: Path) -> tuple[object, str]:
    """The sensitivity section of a results folder: report.json's and report.md's."""
    report = json.loads((folder / "report.json").read_text())
    markdown = (folder / "report.md").read_text()
    start = markdown.index("## Sensitivity")
    end = markdown.find("\n## ", start + 1)
    return report["sensitivity"], markdown[start:end if end >= 0 else None]


def test_a_second_run_takes_the_study_from_the_cache_and_reports_it_equal(
        lenet_workload: Path, tmp_path: Path, cache: Path, capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import simulator.hardware.sensitivity as module
    from simulator.pipeline import run

    _, first = run(lenet_workload, out=tmp_path / "cold", accuracy=False)
    log = capfd.readouterr().err
    assert "varying the hardware files' assumptions" in log and "taken from the cache" not in log
    assert first.sensitivity is not None and first.timings["sensitivity_seconds"] > 0
    entries = list((cache / "sensitivity").glob("lenet5_mnist_sparse-*.json"))
    assert len(entries) == 1

    study_itself = module.sensitivity

    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sensitivity study ran again although nothing changed")

    monkeypatch.setattr(module, "sensitivity", not_again)
    _, second = run(lenet_workload, out=tmp_path / "warm", accuracy=False)
    log = capfd.readouterr().err
    assert f"assumptions taken from the cache ({entries[0]})" in log and "varying" not in log
    assert second.sensitivity == first.sensitivity and "sensitivity_seconds" not in second.timings
    assert sensitivity_section(tmp_path / "warm") == sensitivity_section(tmp_path / "cold")
    assert (tmp_path / "warm" / "sensitivity.png").is_file()

    # An entry that cannot be read is named, and the study runs again and replaces it.
    monkeypatch.setattr(module, "sensitivity", study_itself)
    entries[0].write_text("{", encoding="utf-8")
    _, third = run(lenet_workload, out=tmp_path / "rebuilt", accuracy=False)
    log = capfd.readouterr().err
    assert "cached sensitivity study is unreadable" in log and "varying the hardware files' assumptions" in log
    assert third.sensitivity is not None and first.sensitivity is not None
    # Run again, the same figures (the wall time of the study aside).
    assert third.sensitivity.model_copy(update={"seconds": 0.0}) == first.sensitivity.model_copy(
        update={"seconds": 0.0})
    assert sensitivity_section(tmp_path / "rebuilt")[1] == sensitivity_section(tmp_path / "cold")[1]
    assert json.loads(entries[0].read_text())["sensitivity"] == json.loads((tmp_path / "rebuilt" / "report.json")
                                                                           .read_text())["sensitivity"]


def test_a_changed_hardware_number_or_alternative_misses_the_cache(
        lenet_workload: Path, tmp_path: Path, cache: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from simulator.pipeline import run

    _, first = run(lenet_workload, out=tmp_path / "a", accuracy=False)
    capfd.readouterr()
    doc = yaml.safe_load(lenet_workload.read_text())
    chip = yaml.safe_load(SPARSE.read_text())
    found = []
    for name, edit in (("leak", lambda d: d.update(leakage_share=0.3)),                  # a hardware number
                       ("alt", lambda d: d["alternatives"]["leakage_share"][0].update(value=0.15))):  # an alternative
        edited = yaml.safe_load(yaml.safe_dump(chip))
        edit(edited)
        hardware = tmp_path / f"{name}.yaml"
        hardware.write_text(yaml.safe_dump(edited, sort_keys=False))
        workload = tmp_path / f"{name}_workload.yaml"
        workload.write_text(yaml.safe_dump({**doc, "hardware": str(hardware)}))
        _, report = run(workload, out=tmp_path / name, accuracy=False)
        log = capfd.readouterr().err
        assert "varying the hardware files' assumptions" in log and "assumptions taken from the cache" not in log
        assert report.sensitivity is not None and report.sensitivity != first.sensitivity
        found.append(report.sensitivity)
    assert len(list((cache / "sensitivity").glob("*.json"))) == 3
    # The alternative alone leaves the base figures as they were; its own variation moves.
    assert first.sensitivity is not None and found[1].headline == first.sensitivity.headline
    row = next(r for r in found[1].assumptions if r.key == "leakage_share" and r.varied_in == "both")
    assert [v.value for v in row.variations][:1] == [0.15]


def test_the_key_covers_what_decides_the_study_and_nothing_else() -> None:
    from simulator.hardware.sensitivity import study_key

    chip, base = load_hardware(SPARSE), load_hardware(PRIME)
    inputs = study.StudyInputs(chip, simulator.api.mapping_spec(MAPPING),
                               simulator.api.study_spec({"sensitivity": True}, "fit", True), 0)
    result, pairs = hardware_of(small_cnn(), inputs, base)
    mapped = [(request, f"mapping-{request.label}") for request, _ in pairs]
    activity = {(6, 1): {"0": 0.5, "3": 0.25}}
    key = study_key(inputs, mapped, result, activity)
    assert study_key(inputs, list(mapped), result, {(6, 1): {"0": 0.5, "3": 0.25}}) == key
    # The study asked for on the command line instead of in the file: the same study.
    asked = study.StudyInputs(chip, inputs.mapping, inputs.study.model_copy(update={"sensitivity": False}), 0)
    assert study_key(asked, mapped, result, activity) == key
    others = {
        "a hardware number": study_key(study.StudyInputs(chip.with_value("leakage_share", 0.3), inputs.mapping,
                                                         inputs.study, 0), mapped, result, activity),
        "another seed": study_key(study.StudyInputs(chip, inputs.mapping, inputs.study, 1), mapped, result, activity),
        "another network's mapping": study_key(inputs, [(r, k + "x") for r, k in mapped], result, activity),
        "the baseline's file": study_key(inputs, [(r if r.label != "baseline" else
                                                   replace(r, hardware=base.with_value("leakage_share", 0.3)), k)
                                                  for r, k in mapped], result, activity),
        "cell levels recorded or not": study_key(inputs, [(replace(r, with_levels=not r.with_levels), k)
                                                          for r, k in mapped], result, activity),
        "other measured activity": study_key(inputs, mapped, result, {(6, 1): {"0": 0.5, "3": 0.26}}),
        "no measured activity": study_key(inputs, mapped, result, None),
        "other base figures": study_key(inputs, mapped, study.HardwareStudy(result.workload), activity),
    }
    assert key not in others.values() and len(set(others.values())) == len(others), others


def test_a_tornado_chart_drawn_before_is_copied_not_drawn_again(tmp_path: Path, cache: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.report.bars import Panel, tornado_chart

    def chart(path: Path, high: float) -> None:
        tornado_chart(path, [Panel("energy (x)", 1.2, [("leakage_share", 0.9, high)], marker=1.0)], title="t")

    chart(tmp_path / "first.png", 1.5)
    monkeypatch.setitem(sys.modules, "PIL", None)        # drawing would fail now
    chart(tmp_path / "again.png", 1.5)
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "first.png").read_bytes()
    with pytest.raises(ImportError):
        chart(tmp_path / "other.png", 1.6)               # another value: drawn, so it needs Pillow
