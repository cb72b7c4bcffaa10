"""Representations: pure encode/decode pairs between `Score` and token strings.

`chord` (the note/chord tutorial's) and `pitch-duration` (with rests, START and END);
the registry leaves room for the piano-roll representation of later work.
"""

from __future__ import annotations

from dataclasses import fields

from cadenza.errors import CadenzaError
from cadenza.representations.chord import ChordRepresentation
from cadenza.representations.pitch_duration import PitchDurationRepresentation
from cadenza.representations.vocab import Vocabulary

Representation = ChordRepresentation | PitchDurationRepresentation
REPRESENTATIONS: dict[str, type] = {
    "chord": ChordRepresentation,
    "pitch-duration": PitchDurationRepresentation,
}


def get_representation(name: str, **options: object) -> Representation:
    """Build a representation by name; options it does not have are ignored (a decoding
    option such as `step` only means something to `chord`)."""
    if name not in REPRESENTATIONS:
        known = ", ".join(sorted(REPRESENTATIONS))
        raise CadenzaError(f"unknown representation {name!r} (known: {known})")
    kind = REPRESENTATIONS[name]
    accepted = {f.name for f in fields(kind)} - {"name"}
    return kind(**{key: value for key, value in options.items() if key in accepted})


__all__ = [
    "REPRESENTATIONS",
    "ChordRepresentation",
    "PitchDurationRepresentation",
    "Representation",
    "Vocabulary",
    "get_representation",
]
