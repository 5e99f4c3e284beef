"""Reports explain themselves (issue #18 item 3): "Why this result" names the components that make
the energy gap to each comparison, and the caveats come from what the report holds."""

from __future__ import annotations

from simulator.hardware.model import ChipSummary, Comparison, ComponentEnergy
from simulator.report.explain import caveats, why_lines, why_rows
from simulator.report.model import HardwareSection, OtherChip, RunReport


def component(name: str, dynamic: float, static: float = 0.0) -> ComponentEnergy:
    return ComponentEnergy(component=name, event=f"{name}_events", events=1.0, energy_per_event_pj=dynamic,
                           dynamic_pj=dynamic, static_pj=static, leakage_mw=0.0, instances=1, area_um2=1.0,
                           energy_pj=dynamic + static)


def summary(energy: float, **changes: object) -> ChipSummary:
    fields = dict(hardware="chip", execution="layer-sequential", sizing="fit", crossbar_size=32, images_simulated=1,
                  tiles=1, arrays_per_tile=8, arrays_chip=8, arrays_mapped=8, arrays_with_replicas=8, adc_bits=8,
                  cycle_ns=100.0, energy_per_inference_pj=energy, dynamic_energy_pj=energy, static_energy_pj=0.0,
                  latency_ns=1000.0, latency_cycles=10.0, interval_ns=1000.0, inferences_per_second=1e6,
                  latency_closed_form_ns=1000.0, interval_closed_form_ns=1000.0, contention_wait_ns=0.0,
                  waits_ns={}, simulation_events=1, power_mw=1.0, edp_uj_us=1.0, tops_per_watt_dense_equivalent=1.0,
                  tops_per_watt_nonzero=1.0, tops_per_mm2=1.0, area_mm2=1.0, array_utilization=0.1,
                  adc_utilization=0.1, peak_buffer_bytes=0.0, buffer_bytes_per_tile=65536.0, dataflow_traced=True)
    fields.update(changes)
    return ChipSummary(**fields)   # type: ignore[arg-type]


def test_why_names_the_components_that_make_the_gap_largest_first() -> None:
    mine = [component("dac", 100e6), component("adc", 10e6), component("array", 5e6)]
    theirs = [component("dac", 20e6), component("adc", 12e6), component("array", 5e6)]
    versus = Comparison(energy_efficiency=37 / 115, speedup=1.0, edp_improvement=0.3, area_ratio=2.0, power_ratio=3.0)
    hardware = HardwareSection(summary=summary(115e6), components=mine, timings={},
                               baseline=OtherChip(summary=summary(37e6), components=theirs, versus=versus))
    table = why_rows(hardware)
    assert table.column("component")[:2] == ["dac (dynamic)", "adc (dynamic)"]
    assert table.column("difference (uJ)")[:2] == [80.0, -2.0]
    assert "array (dynamic)" not in set(table.column("component"))        # no difference, not a reason
    assert "0.32x energy efficiency" in why_lines(hardware)[0]


def test_caveats_follow_what_the_report_holds() -> None:
    untrained = {"workload": {"train": {"epochs": 0}, "model": {"checkpoint": None}},
                 "hardware": {"leakage_share": 0.2}}
    trained = {"workload": {"train": {"epochs": 30}, "model": {"checkpoint": "x.pt"}},
               "hardware": {"leakage_share": 0.0}}

    def report(config: dict, dataset: str, traced: bool = True) -> RunReport:
        return RunReport.model_construct(
            config=config, network=None, accuracy=None,
            data=type("D", (), {"dataset": dataset})(),
            hardware=HardwareSection(summary=summary(1.0, dataflow_traced=traced), components=[], timings={}))

    notes = caveats(report(untrained, "imagenet-shape", traced=False))
    assert any("untrained" in n for n in notes) and any("shapes only" in n for n in notes)
    assert any("could not be traced" in n for n in notes) and any("20%" in n for n in notes)
    assert caveats(report(trained, "mnist")) == []


def test_a_hardware_only_run_never_overwrites_a_full_runs_folder() -> None:
    from pathlib import Path

    from simulator.config import load_workload
    from simulator.pipeline import default_out_dir

    workload = load_workload(Path(__file__).resolve().parents[1] / "workloads" / "vgg16_sparse.yaml")
    full, hardware = default_out_dir(workload), default_out_dir(workload, accuracy=False)
    assert full != hardware and hardware.name == f"{full.name}-hardware"


def test_run_shows_each_stage_on_stderr_unless_quiet(capsys) -> None:   # type: ignore[no-untyped-def]
    from simulator.pipeline import StageLog

    shown, quiet = StageLog(show=True), StageLog()
    for log in (shown, quiet):
        clock = log.start("hardware", "simulating 3 chips")
        log.done("hardware", clock)
        log.skip("faults", "the workload has no faults: section")
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == ["hardware: simulating 3 chips ...", err.splitlines()[1],
                                "faults: skipped (the workload has no faults: section)"]
    assert err.splitlines()[1].startswith("hardware: done in ")
    assert shown.ran == quiet.ran == ["hardware"] and shown.skipped == quiet.skipped
