"""The results folder of a run: report.json, layers.csv and report.md, each written atomically."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from simulator.atomic import write_text
from simulator.report.table import Rows

if TYPE_CHECKING:
    import pandas as pd

_PACKAGES = ("resim", "numpy", "torch", "simpy", "pandas", "pyyaml", "matplotlib", "pydantic",
             "typer", "rich", "scipy", "tabulate", "jinja2", "pillow", "filelock")


def versions() -> dict[str, str]:
    """Python, platform and package versions, recorded so a result can be reproduced."""
    out = {"python": platform.python_version(), "platform": _platform()}
    found = _installed(_PACKAGES)
    for name in _PACKAGES:
        if name in found:
            out[name] = found[name]
            continue
        import importlib.metadata  # what _installed leaves open: an egg-info, a zipped path entry

        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _platform() -> str:
    """platform.platform(), kept in the cache under what decides it (the kernel's uname, the C
    library, the Python build): on Linux it runs `uname -p` in a child process for the processor
    name, 0.02 s of a cached `resim run`."""
    from simulator.cache import cache_dir, read_json_entry, stable_key, write_json_entry

    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        libc = None
    # uname's fields but the processor, which is what platform.platform() would run `uname -p` for.
    uname = [platform.system(), platform.node(), platform.release(), platform.version(), platform.machine()]
    key = stable_key({"uname": uname, "libc": libc, "python": sys.version, "executable": sys.executable})
    path = cache_dir() / "platform" / f"{key}.json"
    name = read_json_entry(path, key, lambda doc: str(doc["platform"]), what="platform name")
    if name is None:
        name = platform.platform()
        with contextlib.suppress(OSError):     # a read-only cache: asked again next time
            write_json_entry(path, key, {"platform": name})
    return name


def _normal(name: str) -> str:
    """A project name as installers spell it in a .dist-info folder's name (PEP 503, '-' as '_')."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _installed(names: tuple[str, ...]) -> dict[str, str]:
    """The versions `importlib.metadata.version` gives for the `names` installed as .dist-info
    folders, and "not installed" for those found nowhere, read from the Version header of each
    one's METADATA: the first folder along sys.path wins, as there. A name that meets an .egg-info
    or a path entry that is not a folder first is left out (importlib.metadata answers it).
    importlib.metadata parses every header of each METADATA with the email package (torch's runs to
    kilobytes), 0.03-0.07 s of a cached `resim run`."""
    wanted = {_normal(name): name for name in names}
    out: dict[str, str] = {}
    open_names = set(wanted)
    for entry in sys.path:
        try:
            children = os.listdir(entry or ".")
        except NotADirectoryError:      # a zip file: importlib.metadata reads inside it
            return out
        except OSError:                 # absent, or not a path (the editable install's finder hook)
            continue
        for child in children:
            stem, _, kind = child.rpartition(".")
            project = _normal(stem.partition("-")[0])
            if project not in open_names or kind.lower() not in ("dist-info", "egg-info"):
                continue
            open_names.discard(project)
            if kind.lower() == "egg-info":
                continue
            version = _metadata_version(os.path.join(entry or ".", child, "METADATA"))
            if version is not None:
                out[wanted[project]] = version
    out.update({wanted[project]: "not installed" for project in open_names})
    return out


def _metadata_version(path: str) -> str | None:
    """The Version header of a core metadata file (its headers end at the first blank line)."""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    return None
                key, colon, value = line.partition(":")
                if colon and key.strip().lower() == "version":
                    return value.strip()
    except OSError:
        return None
    return None


def markdown_table(frame: pd.DataFrame | Rows, floatfmt: str = ".4g") -> str:
    """A GitHub-flavoured Markdown table."""
    if isinstance(frame, Rows):
        return frame.to_markdown(floatfmt=floatfmt)
    return frame.to_markdown(index=False, floatfmt=floatfmt)


def write_results(out_dir: Path, report: BaseModel, layers: list[dict[str, Any]], markdown: str) -> None:
    """Write the three files of a results folder; each appears whole or not at all. `layers`: one
    row per layer, its columns in order (the mapping's, then the chip's), for layers.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "layers.csv", csv_text(Rows(records=layers)))
    write_text(out_dir / "report.md", markdown)
    # report.json last: its presence says the folder is complete.
    write_text(out_dir / "report.json", json.dumps(report.model_dump(), indent=2, sort_keys=False, default=str) + "\n")


def csv_text(rows: Rows) -> str:
    """`rows` as CSV (a header line, then one line per row; floats at full precision, blanks empty)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows.columns)
    writer.writerows(rows.rows)
    return out.getvalue()
