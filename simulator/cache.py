"""Where cached artefacts (checkpoints, mappings, data set ids) live: RESIM_CACHE, else ~/.cache/resim.

Kept free of torch so the hardware-only path of `resim run` starts fast.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """The cache root: RESIM_CACHE, else ~/.cache/resim."""
    return Path(os.environ.get("RESIM_CACHE", "~/.cache/resim")).expanduser()


def stable_key(payload: dict[str, Any], version: int = 1) -> str:
    """Short hash of a JSON-able description of what produced an artefact."""
    blob = json.dumps({"format": version, **payload}, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
