"""Docs a newcomer can follow (issue #25 item 8): no paths of one machine in the repository's files,
every file the README and docs name is there, and the source papers are introduced before any
"seed 00x" is named."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "bench" / "RESULTS.md",
        REPO / "examples" / "README.md"]

# A path of one machine: the developers' work, home or temporary folders.
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|home|tmp|Users|root)/")
# A path inside the repository named in prose or code spans (placeholders with <...> or * left out).
REPO_PATH = re.compile(r"(?<![\w/.~-])((?:docs|simulator|workloads|hwconfigs|tests|bench|examples|scripts|checkpoints)"
                       r"/[\w./-]*[\w/])")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def tracked_files() -> list[Path]:
    try:
        names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [REPO / name for name in names.splitlines()]


def test_no_machine_paths_outside_the_tests() -> None:
    found = []
    for path in tracked_files():
        if path.parts[len(REPO.parts)] == "tests" or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue      # binary files (checkpoints, images)
        found += [f"{path.relative_to(REPO)}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1)
                  if MACHINE_PATH.search(line)]
    assert not found, "\n".join(found)


def _made_here(name: str) -> bool:
    """A path the project ignores (.gitignore: a peer's virtualenv a command creates, results)
    is made by the commands a doc shows, not a file the doc refers to."""
    return any(subprocess.run(["git", "check-ignore", "-q", given], cwd=REPO).returncode == 0
               for given in (name, name.rstrip("/") + "/"))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_file_a_doc_names_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = [f"link {target}" for target in LINK.findall(text)
               if not target.startswith(("http:", "https:", "mailto:")) and not (doc.parent / target).exists()]
    missing += [f"path {name}" for name in (m.rstrip(".") for m in REPO_PATH.findall(text))
                if not any(c in name for c in "*<>{}$") and not (REPO / name).exists() and not _made_here(name)]
    assert not missing, f"{doc.relative_to(REPO)} names files that are not there: {missing}"


def test_the_readme_introduces_the_source_papers_before_naming_a_seed() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.index("## The source papers")
    first = re.search(r"seed 00\d|seeds?\b", text, re.IGNORECASE)
    assert first is not None and first.start() > section, text[max(0, first.start() - 80):first.end()] if first else ""
    papers = text[section:text.index("\n## ", section + 1)]
    for seed in range(5):
        assert f"| 00{seed} |" in papers
    # Full citations: authors, title and venue with its year.
    assert "G. Yuan" in papers and "ISQED 2021" in papers and "J. Lin" in papers and "ASP-DAC 2019" in papers


# "tile" for an N x N block of a weight matrix, the word for it being "crossbar" (a tile is a unit of
# the chip): the phrases that gave it away. docs/faults.md is being rewritten on another branch.
CROSSBAR_AS_TILE = re.compile(r"\b(?:\d+ ?x ?\d+|N x N) tiles\b|\btiles (?:placed|dense|saved)\b|"
                              r"\b(?:placed|dense|empty|crossbar) tiles?\b|\btile utilisation\b|\bshare of tiles\b",
                              re.IGNORECASE)


@pytest.mark.parametrize("doc", [d for d in DOCS if d.name != "faults.md"], ids=lambda p: str(p.relative_to(REPO)))
def test_a_crossbar_is_never_called_a_tile(doc: Path) -> None:
    lines = [f"{n}: {line.strip()}" for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
             if CROSSBAR_AS_TILE.search(line)]
    assert not lines, "\n".join(lines)


def test_report_text_says_crossbars() -> None:
    """The report's, the sweep report's and the command line's words (their source text)."""
    for module in ("simulator/report/markdown.py", "simulator/report/html.py", "simulator/report/plots.py",
                   "simulator/report/templates/report.html.j2", "simulator/report/templates/sweep.html.j2",
                   "simulator/sweep/report.py", "simulator/cli.py", "simulator/api.py"):
        text = (REPO / module).read_text(encoding="utf-8")
        found = [match.group(0) for match in CROSSBAR_AS_TILE.finditer(text)]
        assert not found, f"{module}: {found}"
