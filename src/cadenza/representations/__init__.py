"""Representations: pure encode/decode pairs between `Score` and token strings.

`chord` (the note/chord tutorial's), `pitch-duration` (with rests, START and END) and
`frames` (an 88-key piano roll sampled on a grid, as the classic polyphonic benchmarks are);
`pianoroll` (four voices in 2-bar phrases for MuseGAN: not tokens, see its module).
"""

from __future__ import annotations

from dataclasses import fields

from cadenza.errors import CadenzaError
from cadenza.representations.base import Representation
from cadenza.representations.chord import ChordRepresentation
from cadenza.representations.frame_notes import FrameNotesRepresentation
from cadenza.representations.frames import FrameRepresentation
from cadenza.representations.notes import NotesRepresentation
from cadenza.representations.pianoroll import PianorollRepresentation
from cadenza.representations.pitch_duration import PitchDurationRepresentation
from cadenza.representations.vocab import Vocabulary

REPRESENTATIONS: dict[str, type] = {
    "chord": ChordRepresentation,
    "pitch-duration": PitchDurationRepresentation,
    "frames": FrameRepresentation,
    "frame-notes": FrameNotesRepresentation,
    "pianoroll": PianorollRepresentation,
    "notes": NotesRepresentation,
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


def representation_for(vocabulary: Vocabulary, **options: object) -> Representation:
    """The representation that produced `vocabulary`, with its stored settings (decoding
    options such as `step` or `program` may be added)."""
    return get_representation(vocabulary.representation, **options, **vocabulary.settings)


__all__ = [
    "REPRESENTATIONS",
    "ChordRepresentation",
    "FrameRepresentation",
    "PianorollRepresentation",
    "PitchDurationRepresentation",
    "Representation",
    "Vocabulary",
    "get_representation",
    "representation_for",
]
