"""Field helpers: every configuration field carries a description and a unit.

The unit lands in the JSON schema as `unit`, so editors show it next to the description
(the way aihwkit documents its simulation parameters).
"""

from __future__ import annotations

import math
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


def field(default: Any = ..., *, description: str, unit: str, flag: str | None = None, **constraints: Any) -> Any:
    """A pydantic Field with a mandatory description and unit ("1" for dimensionless counts);
    `flag` names the command-line option that sets it (simulator.config.faults)."""
    extra: dict[str, Any] = {"unit": unit} if flag is None else {"unit": unit, "flag": flag}
    return Field(default, description=description, json_schema_extra=extra, **constraints)


def flag_of(model: type[BaseModel], name: str) -> str | None:
    """The command-line option of field `name` of `model`, if it has one."""
    extra = model.model_fields[name].json_schema_extra
    return extra.get("flag") if isinstance(extra, dict) else None  # type: ignore[return-value]


class StrictModel(BaseModel):
    """Base of every config block: unknown keys are errors, nothing is guessed silently, and every
    number is finite (`.nan` in an energy table would drop that component from a total, `.inf`
    would print an infinite energy or divide by zero; issue #16)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_unquoted(cls, value: Any, info: ValidationInfo) -> Any:
        """A number field refuses text, quoted '100.0' alike in every file (pydantic's lax mode
        would read it, so a hardware file took what a workload refused; issue #26)."""
        if info.field_name is None or not isinstance(value, (str, dict, list, tuple)):
            return value
        wants = _number_kind(cls.model_fields[info.field_name].annotation)
        texts = [value] if wants == "number" else (
            list(value.values()) if isinstance(value, dict) else list(value) if not isinstance(value, str) else [])
        if wants is not None and any(isinstance(v, str) for v in texts):
            annotation = cls.model_fields[info.field_name].annotation
            what = "integer" if annotation is int or int in get_args(annotation) else "number"
            raise ValueError(f"must be a valid {what}, not text: write it without quotes")
        return value


def non_finite(value: Any, path: str = "") -> str | None:
    """The key path (below `path`) of the first NaN or infinite float inside a free-form value
    (nested mappings and lists, e.g. model.kwargs), or None when every number in it is finite."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where
        if isinstance(item, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
    return None


_NUMBERS = (int, float)


def _number_kind(annotation: Any) -> str | None:
    """'number' for a field holding one number (int or float, maybe None), 'numbers' for a list,
    tuple or mapping of numbers (an energy table), None for anything that may hold text."""
    def is_number(kind: Any) -> bool:
        return kind in _NUMBERS      # StrictInt and StrictFloat refuse text themselves

    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return _number_kind(members[0]) if len(members) == 1 else None
    if is_number(annotation):
        return "number"
    if origin in (list, tuple, dict):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        values = args[-1:] if origin is dict else args
        return "numbers" if values and all(is_number(a) for a in values) else None
    return None

