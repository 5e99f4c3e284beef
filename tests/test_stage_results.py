"""Issue #13's typed definitions: one fault model behind the workload, `resim faults` and hpp; the
sign encodings named in one registry; report.json as a model whose stages not run are derived."""

from __future__ import annotations

import json
import typing

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from simulator.cli import app
from simulator.config.faults import RATIO_PRESETS, Encoding, FaultModel, FaultOptionError, FaultSpec
from simulator.config.workload import HppSpec, WorkloadConfig
from simulator.mapping.encoding import ENCODING_NAMES, ENCODINGS
from simulator.report.model import STAGES, RunReport
from simulator.sweep.table import FIGURES, SweepRow


def test_every_fault_option_is_a_workload_key_and_a_resim_faults_flag() -> None:
    """A fault option is one field of FaultSpec: the workload's faults: section is FaultSpec and
    `resim faults` has one option per field, named by the field."""
    faults = WorkloadConfig.model_fields["faults"].annotation
    assert FaultSpec in typing.get_args(faults)
    flags = FaultSpec.flags()
    assert set(flags) == set(FaultSpec.model_fields) and set(FaultModel.model_fields) <= set(flags)
    shown = CliRunner().invoke(app, ["faults", "--help"], terminal_width=200).output
    for flag in flags.values():
        for form in flag.split("/"):        # --read-noise/--no-read-noise: both forms
            assert form in shown, form


@pytest.mark.parametrize(("name", "text", "value"), [
    ("ratio", "0:1", (0.0, 1.0)), ("ratio", "stuck-off", (1.0, 0.0)),
    ("layers", "conv1=2,fc1=0", {"conv1": 2.0, "fc1": 0.0}),
    ("only_layers", "conv1,fc1", ["conv1", "fc1"]), ("stuck_rows_rate", "0.05", 0.05), ("rates", "0,1e-3", [0.0, 1e-3]),
    ("encodings", "offset,differential", ["offset", "differential"]), ("runs", "7", 7), ("slice_index", "2", 2),
    ("bit_true", True, True)])
def test_flags_parse_to_the_fields_values(name: str, text: object, value: object) -> None:
    assert getattr(FaultSpec.from_flags({name: text}), name) == value


@pytest.mark.parametrize(("name", "text", "words"), [
    ("ratio", "1", "is not OFF:ON"), ("layers", "conv1", "is not LAYER=MULTIPLIER"),
    ("layers", "conv1=-1", "finite numbers >= 0"), ("rates", "2", "must lie in [0, 1]"),
    ("encodings", "ternary", "allowed: two-column, differential, offset"), ("runs", "0", "greater than or equal to 1"),
    ("stuck_cols_rate", "x", "is not a number")])
def test_bad_flags_name_their_field(name: str, text: str, words: str) -> None:
    with pytest.raises(FaultOptionError, match=words.replace("[", r"\[").replace("]", r"\]")) as err:
        FaultSpec.from_flags({name: text})
    assert err.value.key == name


def test_hpp_fault_mix_is_a_named_ratio_of_the_same_model() -> None:
    mixes = typing.get_args(HppSpec.model_fields["fault_mix"].annotation)
    assert set(mixes) == set(RATIO_PRESETS)
    for mix in mixes:
        assert FaultModel(ratio=mix).ratio == RATIO_PRESETS[mix]


def test_sign_encodings_are_named_once() -> None:
    assert typing.get_args(Encoding) == ENCODING_NAMES == tuple(ENCODINGS)
    for name in ENCODING_NAMES:
        encoding = ENCODINGS[name]()
        assert encoding.input_offset(8) == (128 if name == "offset" else 0)


def test_resim_schema_report_prints_the_report_model() -> None:
    done = CliRunner().invoke(app, ["schema", "report"])
    assert done.exit_code == 0, done.output
    schema = json.loads(done.stdout)
    assert schema["title"] == "RunReport" and "stages_run" in schema["properties"]
    assert "stages_not_built" not in schema["properties"]


def test_a_report_accounts_for_every_stage() -> None:
    fields = RunReport.model_fields
    assert "skipped" in fields and "stages_run" in fields
    validator = RunReport._every_stage_run_or_skipped  # the rule, on a stand-in with only the two fields

    class Stub:
        def __init__(self, ran: list[str], skipped: dict[str, str]):
            self.stages_run, self.skipped = ran, skipped

    everything = list(STAGES)
    assert validator(Stub(everything, {})) is not None  # type: ignore[arg-type]
    for ran, skipped in ((everything[1:], {}), (everything, {"faults": "twice"}),
                         (everything[1:], {everything[0]: "why", "colour": "no such stage"})):
        with pytest.raises(ValueError, match="every stage must be run or skipped"):
            validator(Stub(ran, skipped))  # type: ignore[arg-type]


def test_sweep_rows_are_typed_figures() -> None:
    assert FIGURES[:2] == ("point_id", "config_hash") and FIGURES[-2:] == ("results", "seconds")
    with pytest.raises(ValidationError):
        SweepRow(point_id="p")  # type: ignore[call-arg]
