"""The results folder of a run: report.json, layers.csv and report.md, each written atomically."""

from __future__ import annotations

import importlib.metadata
import json
import platform
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
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


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
