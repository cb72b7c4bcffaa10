"""Folk tunes of the Essen collection inside music21, for the Harmonize tab to offer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ESSEN_FILE = "kinder0.abc"  # German children's songs: short, simple, in a singer's range
TUNES_OFFERED = 12


@dataclass(frozen=True)
class Tune:
    """One tune of an ABC file of several: its title, the file and its number (1-based)."""

    title: str
    path: Path
    number: int

    @property
    def label(self) -> str:
        return f"{self.title} ({self.path.stem} #{self.number})"


def essen_tunes(count: int = TUNES_OFFERED, file_name: str = ESSEN_FILE) -> list[Tune]:
    """The first `count` tunes of distinct titles in one Essen file, read as text (no music21
    parsing, so the page starts at once); [] when music21's corpus is not there."""
    from cadenza.music.notation import abc_tunes

    try:
        import music21

        path = Path(music21.__file__).parent / "corpus" / "essenFolksong" / file_name
        titles = abc_tunes(path)
    except (ImportError, OSError):
        return []
    tunes, seen = [], set()
    for number, title in enumerate(titles, start=1):
        if title.lower() not in seen and title != "untitled":
            seen.add(title.lower())
            tunes.append(Tune(title.title(), path, number))
        if len(tunes) == count:
            break
    return tunes
