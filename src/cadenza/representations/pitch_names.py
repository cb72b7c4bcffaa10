"""Pitch names with octave as music21 spells MIDI numbers ("C#4", "E-4", "B-3")."""

from __future__ import annotations

import re

# music21's default spelling of the twelve pitch classes for pitches read from MIDI.
PITCH_CLASS_NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")
_NAME_PATTERN = re.compile(r"^([A-Ga-g])([#\-]*)(-?\d+)$")
_LETTER_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def pitch_name(midi_pitch: int) -> str:
    """MIDI pitch -> name with octave, middle C = "C4"."""
    return f"{PITCH_CLASS_NAMES[midi_pitch % 12]}{midi_pitch // 12 - 1}"


PITCH_NAMES = tuple(pitch_name(p) for p in range(128))
_PITCH_BY_NAME = {name: pitch for pitch, name in enumerate(PITCH_NAMES)}


def parse_pitch_name(name: str) -> int:
    """Name with octave -> MIDI pitch; accepts any spelling ("Db4", "C#4", "D-4")."""
    if name in _PITCH_BY_NAME:
        return _PITCH_BY_NAME[name]
    match = _NAME_PATTERN.match(name[:1] + name[1:].replace("b", "-"))
    if match is None:
        raise ValueError(f"not a pitch name: {name!r}")
    letter, accidentals, octave = match.groups()
    alteration = accidentals.count("#") - accidentals.count("-")
    pitch = _LETTER_CLASS[letter.upper()] + alteration + 12 * (int(octave) + 1)
    if not 0 <= pitch <= 127:
        raise ValueError(f"pitch {name!r} is outside the MIDI range")
    return pitch
