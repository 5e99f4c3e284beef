"""Where cached artefacts (checkpoints, mappings, data set ids) live: RESIM_CACHE, else ~/.cache/resim,
their keys, and how an entry is checked on load (issue #16): every entry stores the key of what
produced it, and an entry that is unreadable or carries another key is named and rebuilt.

Kept free of torch (and of pandas until a table is converted) so the hardware-only path of
`resim run` starts fast.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar


def cache_dir() -> Path:
    """The cache root: RESIM_CACHE, else ~/.cache/resim."""
    return Path(os.environ.get("RESIM_CACHE", "~/.cache/resim")).expanduser()


def stable_key(payload: dict[str, Any], version: int = 1) -> str:
    """Short hash of a JSON-able description of what produced an artefact."""
    blob = json.dumps({"format": version, **payload}, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


# ----------------------------------------------------------------------------- self-verifying entries

T = TypeVar("T")

# Field of a cache entry holding the key of what produced it (stable_key of its producer).
KEY_FIELD = "cache_key"


def report_bad_entry(path: Path, what: str, why: str, then: str = "rebuilding it") -> None:
    """Name a cache entry that cannot be used, in one line on stderr (never stdout: a command's
    --json output stays clean), and remove it: it is rebuilt under its name (or was made for
    another one), and no later reader of this run or another meets it again."""
    print(f"{path}: cached {what} {why}; {then}", file=sys.stderr, flush=True)
    with contextlib.suppress(OSError):
        path.unlink()


def read_entry(path: Path, key: str, read: Callable[[Path], tuple[T, str | None]], *, what: str,
               then: str = "rebuilding it") -> T | None:
    """The cache entry at `path` when it is there, readable and stamped with `key`, the key of what
    should have produced it; else None, and the caller rebuilds the entry (its atomic write
    replaces the bad file). `read` returns the entry and the key stored in it.

    An entry that exists but cannot be used is named in one line and removed (`report_bad_entry`):
    unreadable (empty, truncated, not this kind of file) or stamped with another key (a file
    copied or renamed over this name, or written by another producer), so it never poisons later
    runs."""
    if not path.exists():
        return None
    try:
        value, stored = read(path)
    except Exception as exc:  # noqa: BLE001 - however a cache file fails to read, it is rebuilt
        report_bad_entry(path, what, f"is unreadable ({_reason(exc)})", then)
        return None
    if stored is None:
        report_bad_entry(path, what, "carries no key of what produced it (a foreign file, or an older resim's)", then)
        return None
    if stored != key:
        report_bad_entry(path, what, f"was made by something else (key {str(stored)[:40]!r}, expected {key!r})", then)
        return None
    return value


def write_json_entry(path: Path, key: str, record: dict[str, Any]) -> None:
    """A JSON cache entry stamped with the key of what produced it, written whole or not at all."""
    from simulator.atomic import write_text

    write_text(path, json.dumps({**record, KEY_FIELD: key}, sort_keys=True))


def read_json_entry(path: Path, key: str, parse: Callable[[dict[str, Any]], T], *, what: str) -> T | None:
    """`read_entry` of a JSON entry that `write_json_entry` wrote: `parse` turns its fields into
    the value (raising on anything it cannot use)."""
    def read(entry: Path) -> tuple[T, str | None]:
        doc = json.loads(entry.read_text(encoding="utf-8"))
        return parse(doc), doc.get(KEY_FIELD)

    return read_entry(path, key, read, what=what)


def _reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    text = text if len(text) <= 120 else text[:117] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ----------------------------------------------------------------------------- tables in JSON entries

def table_record(table: Any) -> dict[str, Any]:
    """A pandas table as plain JSON data that `table_from_record` turns back into an equal table:
    its columns in order, their dtypes and every value at full precision (json writes floats by
    repr; DataFrame.to_json rounds to 10 digits and json.dumps(sort_keys=True) of records
    reorders the columns, so a warm-cache report differed from a cold one)."""
    import numpy as np

    def plain(value: Any) -> Any:
        value = value.item() if isinstance(value, np.generic) else value
        return None if isinstance(value, float) and value != value else value

    return {"columns": [str(c) for c in table.columns], "dtypes": [str(t) for t in table.dtypes],
            "rows": [[plain(v) for v in row] for row in table.itertuples(index=False, name=None)]}


def table_from_record(record: dict[str, Any]) -> Any:
    """The table `table_record` wrote (columns, order, dtypes and values as they were)."""
    import pandas as pd

    columns, dtypes = record["columns"], record["dtypes"]
    table = pd.DataFrame(record["rows"], columns=columns)
    return table.astype({c: t for c, t in zip(columns, dtypes) if t != "object"})
