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


def read_score(path: str | Path) -> Score:
    """Read a score file holding one piece (MIDI, MusicXML, ABC or Humdrum)."""
    pieces = read_pieces(path)
    if len(pieces) != 1:
        raise CadenzaError(f"{path}: holds {len(pieces)} pieces; give a file with one piece")
    return pieces[0]
