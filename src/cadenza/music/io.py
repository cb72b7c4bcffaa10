"""One entry point that reads any supported score file, chosen by its suffix."""

from __future__ import annotations

from pathlib import Path

from cadenza.errors import CadenzaError
from cadenza.music.midi import read_midi
from cadenza.music.notation import NOTATION_SUFFIXES, read_notation
from cadenza.music.score import Score

MIDI_SUFFIXES = (".mid", ".midi")
SCORE_SUFFIXES = MIDI_SUFFIXES + NOTATION_SUFFIXES


def read_pieces(path: str | Path) -> list[Score]:
    """Read every piece in a score file (ABC files may hold many tunes; others hold one)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SCORE_SUFFIXES:
        known = " ".join(SCORE_SUFFIXES)
        raise CadenzaError(f"{path}: unknown score format {suffix!r} (known: {known})")
    if not path.is_file():
        raise CadenzaError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CadenzaError(f"{path}: the file is empty (0 bytes)")
    if suffix in MIDI_SUFFIXES:
        return [read_midi(path)]
    return read_notation(path)


def check_tune(path: str | Path, tune: int | None) -> None:
    """Refuse, before any parsing, an ABC file of several tunes without `tune` (listing the
    first titles) or a `tune` it does not hold."""
    path = Path(path)
    if path.suffix.lower() != ".abc" or not path.is_file():
        return
    from cadenza.music.notation import abc_tunes

    titles = abc_tunes(path)
    if tune is None and len(titles) > 1:
        shown = "; ".join(f"{n} {title}" for n, title in enumerate(titles[:5], 1))
        more = f"; ... ({len(titles)} in all)" if len(titles) > 5 else ""
        raise CadenzaError(f"{path}: holds {len(titles)} tunes; choose one with --tune N: "
                           f"{shown}{more}")  # fmt: skip
    if tune is not None and not 1 <= tune <= max(len(titles), 1):
        raise CadenzaError(f"{path}: --tune {tune} is not one of its tunes (1..{len(titles)})")


def read_score(path: str | Path, tune: int | None = None) -> Score:
    """Read a score file holding one piece (MIDI, MusicXML, ABC or Humdrum), or tune `tune`
    (1-based) of an ABC file of several; a file of several without `tune` is refused, with
    the first titles, before the slow parsing."""
    path = Path(path)
    check_tune(path, tune)
    if path.suffix.lower() == ".abc" and tune is not None:
        from cadenza.music.notation import read_abc_tune

        return read_abc_tune(path, tune)
    pieces = read_pieces(path)
    if tune is not None and tune != 1:
        raise CadenzaError(f"{path}: --tune {tune}: the file holds one piece (--tune is for ABC)")
    if len(pieces) != 1:
        raise CadenzaError(f"{path}: holds {len(pieces)} pieces; give a file with one piece")
    return pieces[0]
