"""The small HTML summaries a notebook shows for a stage result (`_repr_html_`): a title, a table of
headline figures, then captioned tables. Torch-free and escaped throughout; a shared utility of
every stage, like simulator.atomic."""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd


def summary_html(title: str, facts: Sequence[tuple[str, str]], tables: Sequence[tuple[str, pd.DataFrame]] = ()) -> str:
    """`title` as a heading, `facts` as a two-column table (name, value), then each (caption,
    frame) of `tables` with its columns as headers and no index."""
    parts = [f"<div class=\"resim-summary\"><strong>{html.escape(title)}</strong>"]
    if facts:
        rows = "".join(f"<tr><th style=\"text-align:left\">{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
                       for name, value in facts)
        parts.append(f"<table>{rows}</table>")
    for caption, frame in tables:
        parts.append(f"<p>{html.escape(caption)}</p>")
        parts.append(frame.to_html(index=False, border=0, escape=True))
    parts.append("</div>")
    return "".join(parts)


def percent(share: float, digits: int = 1) -> str:
    """A share as a percentage: 0.9911 -> '99.1 %'."""
    return f"{share * 100:.{digits}f} %"
