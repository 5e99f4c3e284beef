"""The hardware designs, workloads and checkpoints shipped with resim, found by name.

They are package data of `simulator` (simulator/resources/, read through importlib.resources), so
an installed wheel finds them as a source checkout does: in the checkout simulator/resources/ holds
symbolic links to the top-level hwconfigs/, workloads/ and checkpoints/, and the wheel carries the
files themselves at the same place. The three folders sit side by side in both, so a shipped
workload's `../hwconfigs/...` and `../checkpoints/...` references hold wherever it is installed.

A name is what `resim list` prints: a design by its file's stem (`prime`), a workload by its path
inside workloads/ without `.yaml` (`vgg16_sparse`, `gpu/vgg16_cifar_sparse_7.5`), a checkpoint by
its file name (`vgg16_cifar_sparse_7.5.pt`). Wherever a path is accepted, a path that exists wins
over a name. This module imports nothing of resim's stages: the configuration layer asks it too.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

Kind = Literal["hardware", "workload", "checkpoint"]

# The folder of each kind inside simulator/resources/ (the top-level folder of a checkout).
FOLDERS: dict[Kind, str] = {"hardware": "hwconfigs", "workload": "workloads", "checkpoint": "checkpoints"}
# What a user calls each kind in messages.
WORDS: dict[Kind, str] = {"hardware": "design", "workload": "workload", "checkpoint": "checkpoint"}
_YAML = (".yaml", ".yml")


class ShippedFilesMissing(FileNotFoundError):
    """resim's package data is not where the package is: a broken install (an OSError, so the
    command line prints it as one line)."""


def root() -> Path:
    """simulator/resources/ as a folder on disk. A package imported from a zip archive has its
    files in no folder; resim needs real ones (a workload names its hardware file by a path)."""
    folder = resources.files("simulator") / "resources"
    if not isinstance(folder, Path) or not folder.is_dir():
        raise ShippedFilesMissing(f"resim's shipped designs, workloads and checkpoints are not installed beside its "
                                  f"package ({folder}); reinstall resim from its wheel or source checkout")
    return folder


def folder(kind: Kind) -> Path:
    """The folder of the shipped files of `kind`."""
    return root() / FOLDERS[kind]


def names(kind: Kind) -> list[str]:
    """Every shipped name of `kind`, sorted (workloads in subfolders after the top-level ones)."""
    base = folder(kind)
    if kind == "checkpoint":
        return sorted(p.name for p in base.glob("*.pt") if p.is_file())
    found = [p for p in base.rglob("*") if p.suffix in _YAML and p.is_file()]
    if kind == "hardware":
        found = [p for p in found if p.parent == base]
    return sorted((p.relative_to(base).with_suffix("").as_posix() for p in found),
                  key=lambda name: (name.count("/"), name))


def path_of(kind: Kind, name: str) -> Path | None:
    """The shipped file called `name`, or None when no shipped file of `kind` has that name."""
    if name not in names(kind):
        return None
    return folder(kind) / (name if kind == "checkpoint" else f"{name}.yaml")


def find(kind: Kind, given: str | Path, base: Path | None = None) -> Path | None:
    """Where `given` is: the path itself (relative to `base`, the folder of the file naming it)
    when anything is there, else the shipped `kind` of that name, else None."""
    path = (base / given) if base is not None else Path(given)
    if path.expanduser().exists():
        return path.expanduser()
    text = str(given).strip()
    return path_of(kind, text) if text else None


def looks_like_name(given: str | Path) -> bool:
    """A bare name rather than a path: no folder and no YAML suffix (a shipped workload's name may
    carry its subfolder, `gpu/vgg16_cifar`, so a relative path without suffix counts too)."""
    path = Path(given)
    return not path.is_absolute() and path.suffix not in _YAML and not str(given).startswith((".", "~"))


def unknown(kind: Kind, given: str | Path) -> str:
    """The second half of the message for `given`, neither an existing path nor a shipped name of
    `kind`: the shipped names, so that a typo shows its neighbour."""
    import difflib

    word = WORDS[kind]
    try:
        known = names(kind)
    except ShippedFilesMissing as exc:
        return f"no shipped {word} is called {str(given)!r}: {exc}"
    close = difflib.get_close_matches(str(given), known, n=1) or [n for n in known if n.startswith(str(given))][:1]
    guess = f" (did you mean {close[0]}?)" if close else ""
    return (f"no shipped {word} is called {str(given)!r}{guess}; shipped {word}s: {', '.join(known) or 'none'} "
            "(`resim list` describes them)")
