"""Progress bars for every stage, drawn on stderr: stdout carries a command's data (its --json
output, its tables), so a progress bar or a progress line never lands in a pipe (issue #16).
Imports rich only when a bar is made."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress


def progress_bar(*columns: Any, **options: Any) -> Progress:
    """A rich Progress (its `columns` and `options`, e.g. disable=, transient=) on stderr."""
    from rich.console import Console
    from rich.progress import Progress

    return Progress(*columns, console=Console(stderr=True), **options)
