"""Representations: pure encode/decode pairs between `Score` and token strings.

`chord` (the note/chord tutorial's), `pitch-duration` (with rests, START and END) and
`frames` (an 88-key piano roll sampled on a grid, as the classic polyphonic benchmarks are);
`pianoroll` (four voices in 2-bar phrases for MuseGAN: not tokens, see its module).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import fields
from importlib import import_module

from cadenza.errors import CadenzaError
from cadenza.representations.base import Representation
from cadenza.representations.vocab import Vocabulary

# name -> (module, class). A module is imported when its representation is first asked for,
# so that reading a vocabulary or building one representation does not load all of them
# (the chord module alone took ~40 ms of every `cadenza harmonize`).
_CLASSES = {
    "chord": ("chord", "ChordRepresentation"),
    "pitch-duration": ("pitch_duration", "PitchDurationRepresentation"),
    "frames": ("frames", "FrameRepresentation"),
    "frame-notes": ("frame_notes", "FrameNotesRepresentation"),
    "pianoroll": ("pianoroll", "PianorollRepresentation"),
    "notes": ("notes", "NotesRepresentation"),
}


class _Registry(Mapping):
    """The representation classes by name, each imported on first use."""

    def __getitem__(self, name: str) -> type:
        module, cls = _CLASSES[name]
        return getattr(import_module(f"{__name__}.{module}"), cls)

    def __contains__(self, name: object) -> bool:
        return name in _CLASSES

    def __iter__(self) -> Iterator[str]:
        return iter(_CLASSES)

    def __len__(self) -> int:
        return len(_CLASSES)


REPRESENTATIONS: Mapping[str, type] = _Registry()
_EXPORTED = {cls: name for name, (_, cls) in _CLASSES.items()}


def __getattr__(attribute: str) -> type:
    """`from cadenza.representations import ChordRepresentation`, imported when asked."""
    if attribute in _EXPORTED:
        return REPRESENTATIONS[_EXPORTED[attribute]]
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


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
