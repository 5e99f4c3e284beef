"""Docs a newcomer can follow (issue #25 item 8): no paths of one machine in the repository's files,
every file the README and docs name is there, and the source papers are introduced before any
"seed 00x" is named."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "bench" / "RESULTS.md"]

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


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_file_a_doc_names_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = [f"link {target}" for target in LINK.findall(text)
               if not target.startswith(("http:", "https:", "mailto:")) and not (doc.parent / target).exists()]
    missing += [f"path {name}" for name in (m.rstrip(".") for m in REPO_PATH.findall(text))
                if not any(c in name for c in "*<>{}$") and not (REPO / name).exists()]
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
