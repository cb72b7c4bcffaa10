"""Finding score files under the paths a user names.

Files are yielded one at a time in a fixed order (arguments in the order given, folders
walked with sorted names), so a corpus of 100,000 files never needs a list of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from cadenza.errors import CadenzaError
from cadenza.music.io import SCORE_SUFFIXES


def _is_score(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in SCORE_SUFFIXES


def check_paths(paths: Iterable[str | Path]) -> list[str]:
    """The paths as strings, after checking that each exists and a named file is a score."""
    checked = []
    for raw in paths:
        path = str(raw)
        if os.path.isfile(path) and not _is_score(path):
            known = " ".join(SCORE_SUFFIXES)
            raise CadenzaError(f"{path}: not a score file (known suffixes: {known})")
        if not os.path.exists(path):
            raise CadenzaError(f"{path}: no such file or folder")
        checked.append(path)
    return checked


def iter_scores(paths: Iterable[str | Path]) -> Iterator[str]:
    """Score files under `paths` (folders searched recursively), each once, in a fixed order."""
    checked = check_paths(paths)
    # Only overlapping arguments ("songs songs/a.mid") can name a file twice; only then is a
    # set of every file seen worth its memory.
    seen: set[str] | None = set() if len(checked) > 1 else None
    for path in checked:
        for found in _walk(path):
            if seen is not None:
                real = os.path.realpath(found)
                if real in seen:
                    continue
                seen.add(real)
            yield found


def _walk(path: str) -> Iterator[str]:
    if os.path.isfile(path):
        yield path
        return
    for folder, subfolders, names in os.walk(path):
        subfolders.sort()
        for name in sorted(names):
            if _is_score(name):
                yield os.path.join(folder, name)


def count_scores(paths: Iterable[str | Path]) -> int:
    """How many files `iter_scores` will yield (for a progress bar's total)."""
    return sum(1 for _ in iter_scores(paths))


def discover_scores(paths: Iterable[str | Path]) -> list[str]:
    """All score files under `paths`, as a list."""
    return list(iter_scores(paths))
