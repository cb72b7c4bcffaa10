"""The tutorial's own note/chord parsing, through music21, kept as a reference path.

It reproduces the tutorial exactly: `converter.parse`, `instrument.partitionByInstrument`,
then only the first instrument part's notes and chords (`str(pitch)` for a note, the
dot-joined `normalOrder` for a chord). It is about two orders of magnitude slower than
`chord.ChordRepresentation.encode` on symusic and keeps only one instrument part.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from cadenza.errors import CadenzaError


def tutorial_chord_tokens(path: str | Path) -> list[str]:
    """Tokens of a MIDI file exactly as the tutorial's `get_notes` computes them."""
    from music21 import chord, converter, instrument, note

    path = Path(path)
    try:
        with warnings.catch_warnings():  # music21 warns about every unnamed instrument
            warnings.simplefilter("ignore")
            midi = converter.parse(path, forceSource=True)
    except Exception as error:  # music21 raises many unrelated types on malformed input
        raise CadenzaError(f"cannot read {path}: {type(error).__name__}: {error}") from error
    try:
        parts = instrument.partitionByInstrument(midi)
        elements = parts.parts[0].recurse()
    except Exception:  # the tutorial falls back to the flat notes when partitioning fails
        elements = midi.flatten().notes
    tokens = []
    for element in elements:
        if isinstance(element, note.Note):
            tokens.append(str(element.pitch))
        elif isinstance(element, chord.Chord):
            tokens.append(".".join(str(pc) for pc in element.normalOrder))
    return tokens


def aligned_agreement(reference: list[str], candidate: list[str]) -> float:
    """Share of `reference` tokens that an optimal alignment matches in `candidate` (0..1)."""
    from difflib import SequenceMatcher

    if not reference:
        return float(not candidate)
    matcher = SequenceMatcher(None, reference, candidate, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return matched / len(reference)
