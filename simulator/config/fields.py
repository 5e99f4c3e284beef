"""Field helpers: every configuration field carries a description and a unit.

The unit lands in the JSON schema as `unit`, so editors show it next to the description
(the way aihwkit documents its simulation parameters).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
