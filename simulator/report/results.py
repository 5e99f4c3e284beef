"""The results folder of a run: report.json, layers.csv and report.md, each written atomically."""

from __future__ import annotations

import importlib.metadata
import json
import platform
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from simulator.atomic import write_text

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


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub-flavoured Markdown table."""
    return frame.to_markdown(index=False, floatfmt=floatfmt)


def write_results(out_dir: Path, report: BaseModel, layers: list[dict[str, Any]], markdown: str) -> None:
    """Write the three files of a results folder; each appears whole or not at all. `layers`: one
    row per layer, its columns in order (the mapping's, then the chip's), for layers.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "layers.csv", pd.DataFrame(layers).to_csv(index=False))
    write_text(out_dir / "report.md", markdown)
    # report.json last: its presence says the folder is complete.
    write_text(out_dir / "report.json", json.dumps(report.model_dump(), indent=2, sort_keys=False, default=str) + "\n")
