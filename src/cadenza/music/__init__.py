"""Reading and writing music: the `Score` type and its readers and writers.

The readers and writers are loaded on first use (PEP 562): `cadenza --help` reaches this
package through `cadenza.music.scales` and need not load the MIDI library for it.
"""

from importlib import import_module

from cadenza.music.score import KeySignature, Note, Score, TempoChange, TimeSignature, Track

_LAZY = {
    "SCORE_SUFFIXES": "cadenza.music.io",
    "read_pieces": "cadenza.music.io",
    "read_score": "cadenza.music.io",
    "read_midi": "cadenza.music.midi",
    "write_midi": "cadenza.music.midi",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SCORE_SUFFIXES",
    "KeySignature",
    "Note",
    "Score",
    "TempoChange",
    "TimeSignature",
    "Track",
    "read_midi",
    "read_pieces",
    "read_score",
    "write_midi",
]
