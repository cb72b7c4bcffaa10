"""Key names ("C", "A minor", "Bbm", "F# major") -> `KeySignature`."""

from __future__ import annotations

import re

from cadenza.errors import CadenzaError
from cadenza.music.score import KeySignature

# Sharps (+) or flats (-) of each major key, by its spelled tonic.
MAJOR_SHARPS = {
    "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7,
    "F": -1, "Bb": -2, "Eb": -3, "Ab": -4, "Db": -5, "Gb": -6, "Cb": -7,
}  # fmt: skip
_KEY = re.compile(r"^\s*([A-Ga-g])([#b-]?)\s*(major|minor|maj|min|m)?\s*$", re.IGNORECASE)


def parse_key(text: str) -> KeySignature:
    """A key name -> its signature at time 0, e.g. "A minor" -> no sharps, minor."""
    match = _KEY.match(text)
    if match is None:
        raise CadenzaError(f"not a key: {text!r} (examples: C, A minor, Bb, F#m)")
    letter, accidental, mode = match.groups()
    tonic = letter.upper() + accidental.replace("-", "b")
    minor = (mode or "").lower() in ("minor", "min", "m")
    major_tonic = _relative_major(tonic) if minor else tonic
    if major_tonic not in MAJOR_SHARPS:
        raise CadenzaError(f"no key signature for {text!r}")
    return KeySignature(0.0, MAJOR_SHARPS[major_tonic], minor)


def _relative_major(minor_tonic: str) -> str:
    """The major key three semitones above a minor tonic, spelled as key signatures are."""
    relative = {
        "A": "C", "E": "G", "B": "D", "F#": "A", "C#": "E", "G#": "B", "D#": "F#", "A#": "C#",
        "D": "F", "G": "Bb", "C": "Eb", "F": "Ab", "Bb": "Db", "Eb": "Gb", "Ab": "Cb",
    }  # fmt: skip
    return relative.get(minor_tonic, "")
