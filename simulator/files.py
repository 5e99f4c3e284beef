"""What a path given as an input file is, when it is not a regular file (issue #26): a device
such as /dev/zero or /dev/urandom, or a named pipe, would be read forever or block, and "file
not found" would be wrong about it."""

from __future__ import annotations

import stat
from pathlib import Path

_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def special_kind(path: Path) -> str | None:
    """'a character device', 'a named pipe (FIFO)', ... for a path that exists but is no regular
    file, else None (a regular file, or nothing there)."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def not_a_file(path: Path, wanted: str) -> str:
    """The reason `path` cannot be read as `wanted` ('a YAML file'): what it is, or not found."""
    kind = special_kind(path)
    return f"is {kind}, not {wanted}" if kind else "file not found"


def unwritable(path: Path, wanted: str) -> str | None:
    """Why a file cannot be written at `path` (checked before the work that makes it), or None:
    a folder or a special file is there, a parent is a file, a name is too long for the file
    system, or the nearest existing folder does not let this user write."""
    import tempfile

    kind = special_kind(path)
    if kind:
        return f"is {kind}; give the path of {wanted}"
    long = next((part for part in path.parts if len(part.encode()) > 255), None)
    if long is not None:
        return f"the name {long[:40]}... is longer than the 255 bytes a file system allows"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is a file, not a folder"
    try:    # a real write: permissions, read-only mounts and pseudo file systems (/proc) alike
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        return f"cannot write into {parent}: {exc.strerror or exc}"
    return None
