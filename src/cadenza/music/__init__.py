"""Reading and writing music: the `Score` type and its readers and writers."""

from cadenza.music.io import SCORE_SUFFIXES, read_pieces, read_score
from cadenza.music.midi import read_midi, write_midi
from cadenza.music.score import KeySignature, Note, Score, TempoChange, TimeSignature, Track

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
