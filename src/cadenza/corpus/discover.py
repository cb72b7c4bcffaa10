"""Finding score files under the paths a user names."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cadenza.errors import CadenzaError
from cadenza.music.io import SCORE_SUFFIXES


def discover_scores(paths: Iterable[str | Path]) -> list[Path]:
    """All score files under `paths` (folders searched recursively), sorted, without repeats."""
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.update(
                p for p in path.rglob("*") if p.suffix.lower() in SCORE_SUFFIXES and p.is_file()
            )
        elif path.is_file():
            if path.suffix.lower() not in SCORE_SUFFIXES:
                known = " ".join(SCORE_SUFFIXES)
                raise CadenzaError(f"{path}: not a score file (known suffixes: {known})")
            found.add(path)
        else:
            raise CadenzaError(f"{path}: no such file or folder")
    return sorted(found)
