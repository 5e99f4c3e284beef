"""Shared fixtures: the real data sets beside the repository, and an isolated checkpoint cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """../shared/data beside the checkout, or RESIM_TEST_DATA."""
    return Path(os.environ.get("RESIM_TEST_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "mnist").is_dir():
        pytest.skip(f"shared data not found at {path} (set RESIM_TEST_DATA)")
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private checkpoint cache, so tests never reuse a user's checkpoints."""
    path = tmp_path / "cache"
    monkeypatch.setenv("RESIM_CACHE", str(path))
    return path


_BROWSER_OUTCOMES: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember how each browser check ended (its call phase, or its setup when that skipped)."""
    if "browser" in report.keywords and (report.when == "call" or report.outcome != "passed"):
        _BROWSER_OUTCOMES[report.nodeid] = report.outcome


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name every browser check and its outcome, so a quiet run's log (CI's) shows they ran."""
    if _BROWSER_OUTCOMES:
        terminalreporter.section("browser checks of report.html")
        for nodeid, outcome in sorted(_BROWSER_OUTCOMES.items()):
            terminalreporter.write_line(f"{outcome.upper()} {nodeid}")
