"""report.html of `resim faults` (issue #18, item 3): the fault study's summary, its table and its
plot in one self-contained page (inline CSS, the plot a base64 `data:` URI), like `resim run`'s and
`resim sweep`'s pages. The tables are the ones the command prints, so page and terminal agree."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from simulator.report.html import Plot, Table, data_uri, render_template, table_of

TEMPLATE = "faults.html.j2"
HTML_NAME = "report.html"


@dataclass(frozen=True)
class Section:
    """One section of the page: a heading, notes, a table and, when its file exists, a plot."""

    anchor: str
    heading: str
    frame: pd.DataFrame
    notes: Sequence[str] = ()
    plot_file: Path | None = None
    caption: str = ""

    @property
    def table(self) -> Table:
        return table_of(self.frame)

    @property
    def plot(self) -> Plot | None:
        path = self.plot_file
        return Plot(path.name, data_uri(path)) if path is not None and path.is_file() else None


def render_faults_html(title: str, summary: Sequence[tuple[str, str]], sections: Sequence[Section]) -> str:
    """The page: `summary` as (label, text) pairs, then each section."""
    try:
        version = importlib.metadata.version("resim")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return render_template(TEMPLATE, title=title, version=version, summary=list(summary), sections=list(sections))
