"""Loading YAML configuration files into validated, typed objects.

Every problem becomes one line naming the file, the key path, the value and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from simulator import shipped
from simulator.config import safe_yaml
from simulator.config.errors import _NO_VALUE, ConfigError, Problem
from simulator.config.hardware import HardwareConfig, SourcedBlock, alternative_problems
from simulator.config.workload import WorkloadConfig
from simulator.files import not_a_file

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse a YAML file safely and within limits (simulator.config.safe_yaml); syntax errors name
    the line and column, a key given twice its key path and both lines."""
    if path.is_dir():
        raise ConfigError([Problem(path, "", "is a folder; give a YAML file")])
    if not path.is_file():
        raise ConfigError([Problem(path, "", not_a_file(path, "a YAML file"))])
    try:
        size = path.stat().st_size
        if size > safe_yaml.MAX_BYTES:
            raise ConfigError([Problem(path, "", f"is {size} bytes; a configuration file has at most "
                                                 f"{safe_yaml.MAX_BYTES} (its numbers and their sources)")])
        data = safe_yaml.load(path.read_text(encoding="utf-8"))
    except safe_yaml.YamlLimitError as exc:
        where = exc.key_path or (f"line {exc.line}" if exc.line else "")
        message = exc.message if exc.key_path == "" or exc.line is None or "line" in exc.message \
            else f"line {exc.line}: {exc.message}"
        raise ConfigError([Problem(path, where, message)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([Problem(path, where, f"YAML syntax error: {reason}")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(path, "", f"not UTF-8 text: {exc.reason}")]) from None
    except (OSError, RecursionError) as exc:
        raise ConfigError([Problem(path, "", f"cannot read it: {getattr(exc, 'strerror', None) or exc}")]) from None
    if not isinstance(data, dict):
        raise ConfigError(
            [Problem(path, "", "the document must be a mapping of keys to values", data)]
        )
    return data


def validate(model: type[M], data: dict[str, Any], path: Path) -> M:
    """Validate `data` against `model`; paths in it are relative to `path`'s folder."""
    try:
        return model.model_validate(data, context={"base_dir": path.parent})
    except ValidationError as exc:
        raise ConfigError([_problem(model, err, path) for err in exc.errors()]) from None


def _problem(model: type[BaseModel], err: ErrorDetails, path: Path) -> Problem:
    loc = [part for part in err["loc"] if not _is_union_tag(part)]
    key_path = _join(loc)
    value = err.get("input", _NO_VALUE)
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        return Problem(path, key_path, f"unknown key; allowed keys here: {', '.join(allowed)}")
    if kind == "missing":
        return Problem(path, key_path, "required key is missing")
    message = err["msg"].removeprefix("Value error, ")
    if kind == "int_type" and isinstance(value, float):
        message = "must be a whole number"
    return Problem(path, key_path, message, value)


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the union member's type name to the location ('int', 'literal[...]').
    return isinstance(part, str) and (
        part in {"int", "str", "float", "bool", "none"} or part.startswith(("literal[", "function-"))
    )


def _join(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _allowed_keys(model: type[BaseModel], loc: list[Any]) -> list[str]:
    """Keys accepted at `loc` inside `model` (by their YAML spelling)."""
    current: Any = model
    for part in loc:
        info = current.model_fields.get(part) or next(
            (f for f in current.model_fields.values() if f.alias == part), None
        )
        annotation = info.annotation if info else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        current = annotation
    return [f.alias or name for name, f in current.model_fields.items()]


def check_sources(hardware: HardwareConfig, path: Path) -> None:
    """Every number in a hardware file must cite its source (and only real fields may be cited)."""
    problems: list[Problem] = []

    def walk(block: SourcedBlock, prefix: str) -> None:
        for name in block.numeric_fields():
            if not block.source.get(name, "").strip():
                problems.append(
                    Problem(path, _join([*filter(None, [prefix]), "source", name]),
                            f"the number {name} = {getattr(block, name)} has no source; "
                            "cite the paper and table or the derivation")
                )
        for name in block.source:
            if name not in type(block).model_fields or name == "source":
                problems.append(Problem(path, _join([*filter(None, [prefix]), "source", name]),
                                        "source given for a field that does not exist here"))
        for name in type(block).model_fields:
            child = getattr(block, name)
            if isinstance(child, SourcedBlock):
                walk(child, _join([*filter(None, [prefix]), name]))

    walk(hardware, "")
    if problems:
        raise ConfigError(problems)


def check_alternatives(hardware: HardwareConfig, path: Path) -> None:
    """Every key of `alternatives:` names a numeric or enum field of the file and every value is
    one the field allows (simulator.config.hardware.alternative_problems)."""
    problems = [Problem(path, where, message, _NO_VALUE if value is None else value)
                for where, message, value in alternative_problems(hardware)]
    if problems:
        raise ConfigError(problems)


def load_hardware(path: Path) -> HardwareConfig:
    """Read and validate a hardware description file."""
    path = Path(path)
    return _hardware_of(read_yaml(path), path)


def _hardware_of(data: dict[str, Any], path: Path) -> HardwareConfig:
    """The hardware description parsed from `path`, validated."""
    hardware = validate(HardwareConfig, data, path)
    check_sources(hardware, path)
    check_alternatives(hardware, path)
    return hardware


@dataclass(frozen=True)
class Workload:
    """A validated workload with its hardware and the files they came from."""

    config: WorkloadConfig
    path: Path
    hardware: HardwareConfig
    hardware_path: Path

    @property
    def crossbar_size(self) -> int:
        """Tile size N: the workload's, else the hardware array's rows."""
        return self.config.mapping.crossbar.size or self.hardware.array.rows

    @property
    def checkpoint_path(self) -> Path | None:
        """model.checkpoint as a file: relative to the workload, else the shipped one of that name."""
        given = self.config.model.checkpoint
        return None if given is None else reference(self.path, "checkpoint", given)

    def data_dir(self, override: str | Path | None) -> Path | None:
        """--data-dir wins, then the workload's data.dir (relative to the workload file)."""
        if override is not None:
            return Path(override).expanduser()
        if self.config.data.dir is not None:
            return (self.path.parent / self.config.data.dir).resolve()
        return None

    def resolved(self) -> dict[str, Any]:
        """The configuration as run: workload plus the hardware it names, in JSON types."""
        return {
            "workload": self.config.model_dump(mode="json", by_alias=True),
            # Alternatives change no figure unless the sensitivity study reads them: left out
            # otherwise, so adding them to a file keeps the hashes of the workloads that use it.
            "hardware": self.hardware.model_dump(
                mode="json", exclude=None if self.config.hardware_study.sensitivity else {"alternatives"}),
            "crossbar_size": self.crossbar_size,
            "cell_bits": self.config.mapping.cell_bits_on(self.hardware),
        }

    def config_hash(self) -> str:
        """Short hash of everything that determines the results."""
        blob = json.dumps(self.resolved(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]


def reference(workload: Path, kind: shipped.Kind, given: str) -> Path:
    """The file a workload names at a key of `kind`: the path relative to the workload when
    something is there, else the shipped file of that name (the validators checked one exists)."""
    return (shipped.find(kind, given, workload.parent) or workload.parent / given).resolve()


def named_file(given: str | Path, kinds: tuple[shipped.Kind, ...] = ("workload",)) -> Path:
    """A file given on the command line or to the API: the path when something is there, else the
    shipped file of that name (a workload's, then a design's, as `kinds` lists); a ConfigError
    listing the shipped names when it is neither."""
    for kind in kinds:
        found = shipped.find(kind, given)
        if found is not None:
            return found
    if not shipped.looks_like_name(given):
        return Path(given)    # a path: reading it says what is wrong with it
    raise ConfigError([Problem(Path(given), "", "; ".join(
        ["no such file", *(shipped.unknown(kind, given) for kind in kinds)]))])


def load_workload(path: str | Path) -> Workload:
    """Read a workload (a path, or a shipped workload's name) and the hardware file it names;
    raise ConfigError listing every problem."""
    path = named_file(path)
    config = validate(WorkloadConfig, read_yaml(path), path)
    hardware_path = reference(path, "hardware", config.hardware)
    hardware = _named_hardware(path, "hardware", hardware_path)
    chips = [("hardware", hardware)]
    if config.hardware_study.baseline is not None:
        chips.append(("hardware_study.baseline", _named_hardware(
            path, "hardware_study.baseline", reference(path, "hardware", config.hardware_study.baseline))))
    for key, chip in chips:
        narrower = config.mapping.narrower_than_cells(chip)
        if narrower:
            raise ConfigError([Problem(path, "mapping.weight_bits", f"{narrower} (the chip of {key})")])
    return Workload(config, path.resolve(), hardware, hardware_path)


def _named_hardware(workload: Path, key: str, path: Path) -> HardwareConfig:
    """The hardware file a workload names at `key`; naming a workload file there is an error on
    the workload's key (a workload is no chip, and its keys would each be "unknown" there)."""
    data = read_yaml(path)      # once: its kind, then the chip
    if detect_kind(data) == "workload":
        raise ConfigError([Problem(workload, key, f"{path} is a workload file; give a hardware description "
                                                  "(a file with array: and chip:)")])
    return _hardware_of(data, path)


def detect_kind(data: dict[str, Any]) -> str | None:
    """'workload' or 'hardware' from a document's top-level keys, or None when unclear."""
    if "model" in data or "data" in data:
        return "workload"
    if "array" in data or "chip" in data:
        return "hardware"
    return None


def validate_file(path: str | Path) -> str:
    """Validate a workload or hardware file (or a shipped one's name); return its kind, raise
    ConfigError otherwise."""
    path = named_file(path, ("workload", "hardware"))
    data = read_yaml(path)
    kind = detect_kind(data)
    if kind == "workload":
        load_workload(path)
    elif kind == "hardware":
        load_hardware(path)
    else:
        raise ConfigError(
            [Problem(path, "", "cannot tell the kind: a workload has 'model' and 'data', "
                     "a hardware file has 'array' and 'chip'")]
        )
    return kind
