"""A table as a report writes it: named columns and rows of plain values.

report.md and report.html are built from a run's typed report; their tables need columns, rows
and a sum row, nothing of pandas, whose import was a third of a hardware-only `resim run` with
cached mappings (issue #25). `markdown_table` and `table_of` take these or DataFrames alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any


class Rows:
    """Columns in order and one list of values per row."""

    def __init__(self, columns: Mapping[str, Sequence[Any]] | None = None, *,
                 records: Sequence[Mapping[str, Any]] | None = None, order: Sequence[str] | None = None) -> None:
        """From columns of equal length, or from `records` (one mapping per row; the columns in
        `order`, else in the order they first appear; a row without a column leaves it blank)."""
        if columns is not None:
            lengths = {len(values) for values in columns.values()}
            if len(lengths) > 1:
                raise ValueError(f"columns of different lengths: {sorted(lengths)}")
            self.columns = [str(name) for name in columns]
            self.rows = [list(row) for row in zip(*columns.values())]
            return
        records = records or []
        names = list(order) if order is not None else list(dict.fromkeys(k for record in records for k in record))
        self.columns = [str(name) for name in names]
        self.rows = [[record.get(name) for name in names] for record in records]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.columns)

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def appended(self, record: Mapping[str, Any]) -> Rows:
        """These rows and one more (a sum row: a column it lacks is blank)."""
        out = Rows(records=[*self.records(), record], order=self.columns)
        return out

    def itertuples(self, index: bool = False, name: str | None = None) -> Iterator[tuple[Any, ...]]:
        """The rows as tuples (DataFrame.itertuples(index=False, name=None)'s, for `table_of`)."""
        return (tuple(row) for row in self.rows)

    def to_markdown(self, floatfmt: str = ".4g") -> str:
        """A GitHub-flavoured Markdown table, as DataFrame.to_markdown(index=False) writes one."""
        from tabulate import tabulate

        return tabulate(self.rows, headers=self.columns, tablefmt="pipe", floatfmt=floatfmt)
