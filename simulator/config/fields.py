"""Field helpers: every configuration field carries a description and a unit.

The unit lands in the JSON schema as `unit`, so editors show it next to the description
(the way aihwkit documents its simulation parameters).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def field(default: Any = ..., *, description: str, unit: str, **constraints: Any) -> Any:
    """A pydantic Field with a mandatory description and unit ("1" for dimensionless counts)."""
    return Field(default, description=description, json_schema_extra={"unit": unit}, **constraints)


class StrictModel(BaseModel):
    """Base of every config block: unknown keys are errors, nothing is guessed silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
