"""Configuration errors that name the file, the key path, the value and what is allowed."""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_NO_VALUE = object()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one configuration file, printed as one line."""

    file: Path
    path: str
    message: str
    value: Any = _NO_VALUE

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else f"{self.file}"
        got = "" if self.value is _NO_VALUE else f" (got {_short(self.value)})"
        # One line per problem, whatever a message or a file name holds.
        return " ".join(f"{where}: {self.message}{got}".split("\n"))


def _short(value: Any, limit: int = 80) -> str:
    """repr of `value` cut to `limit` characters, built within bounds (reprlib: a few items per
    level, a few levels), so a huge or deeply nested value never gets its full repr built."""
    text = _BOUNDED.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_BOUNDED = reprlib.Repr()
_BOUNDED.maxlevel, _BOUNDED.maxstring, _BOUNDED.maxother, _BOUNDED.maxlong = 3, 60, 60, 40
_BOUNDED.maxlist = _BOUNDED.maxtuple = _BOUNDED.maxdict = _BOUNDED.maxset = 6


class ConfigError(Exception):
    """Raised with every problem found in a configuration, one line each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
