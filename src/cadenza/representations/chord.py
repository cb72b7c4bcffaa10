"""The `chord` representation of the note/chord LSTM tutorial.

Notes that start together become one token: a lone pitch is its name with octave ("E4",
"B-3"); two or more pitches are the dot-joined normal order of their pitch classes
("4.7.11"), computed as music21 computes it. Decoding places one token every `step`
quarters, single notes at their pitch and chords in the octave above middle C (a one-class
chord such as "0", an octave doubling, as C4 + C5 so that it encodes back to itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.music.score import DEFAULT_TEMPO_BPM, DEFAULT_VELOCITY, Score, Track
from cadenza.representations.base import TokenRepresentationDefaults, one_track_score
from cadenza.representations.pitch_names import PITCH_NAMES, parse_pitch_name

CHORD_OCTAVE_BASE = 60  # chords are voiced from middle C (octave 4) upwards, as the tutorial does
# Onsets are snapped to the nearer of the 16th and triplet-8th grids, as music21 does for MIDI.
TWELFTHS_PER_QUARTER = 12
CHORD_SCOPES = ("piece", "track")


def normal_order(pitch_classes: Sequence[int]) -> list[int]:
    """Normal order of a pitch-class set, with Forte's tie-break (music21's `normalOrder`).

    Among the rotations of the sorted set, pick the one whose span (last - first, mod 12)
    is smallest; ties go to the smallest interval first -> second, then first -> third, ...
    and then to the rotation that starts lowest.
    """
    ordered = sorted(set(int(pc) % 12 for pc in pitch_classes))
    if not ordered:
        raise ValueError("normal order of an empty pitch-class set")
    size = len(ordered)

    def packing(rotation: list[int]) -> tuple[int, ...]:
        intervals = [(pc - rotation[0]) % 12 for pc in rotation]
        return (intervals[-1], *intervals[1:-1])

    rotations = [ordered[start:] + ordered[:start] for start in range(size)]
    return min(rotations, key=packing)


def _chord_token(mask: int) -> str:
    return ".".join(str(pc) for pc in normal_order([pc for pc in range(12) if mask >> pc & 1]))


@lru_cache(maxsize=1)
def code_tokens() -> tuple[str, ...]:
    """Every possible token by its fixed code: 0..127 a lone pitch, 128 + mask a pitch-class
    set. Built on first use, not at import: the 4,095 normal orders cost tens of milliseconds
    that every command paid, `cadenza harmonize` included, which never encodes chords."""
    return (*PITCH_NAMES, "", *(_chord_token(m) for m in range(1, 4096)))


def quantize_onsets(onsets: np.ndarray) -> np.ndarray:
    """Onsets (quarters) -> integer twelfths of a quarter on the nearer of the 1/4 and 1/3 grids."""
    sixteenths = np.round(onsets * 4) * 3
    triplets = np.round(onsets * 3) * 4
    scaled = onsets * TWELFTHS_PER_QUARTER
    use_triplets = np.abs(scaled - triplets) < np.abs(scaled - sixteenths)
    return np.where(use_triplets, triplets, sixteenths).astype(np.int64)


def _track_codes(track: Track) -> tuple[np.ndarray, np.ndarray]:
    """(onset in twelfths, code) per distinct onset of one track, in onset order."""
    if not len(track):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    onsets = quantize_onsets(track.onsets)
    order = np.lexsort((track.pitches, onsets))
    onsets, pitches = onsets[order], track.pitches[order].astype(np.int64)
    starts = np.flatnonzero(np.r_[True, onsets[1:] != onsets[:-1]])
    lowest = np.minimum.reduceat(pitches, starts)
    highest = np.maximum.reduceat(pitches, starts)
    masks = np.bitwise_or.reduceat(np.left_shift(1, pitches % 12), starts)
    return onsets[starts], np.where(lowest == highest, lowest, 128 + masks)


def chord_codes(score: Score, scope: str = "piece") -> np.ndarray:
    """Fixed codes (see `code_tokens`), one per onset of the piece, or per onset of each track.

    With scope "track" notes form chords only within their own track, and tokens of several
    tracks at one onset follow each other in track order: the grouping of the tutorial's
    music21 parsing, which keeps the two hands of a piano piece as separate tokens.
    """
    if scope == "piece":
        return _track_codes(score.merged())[1]
    per_track = [_track_codes(track) for track in score.tracks]
    if not per_track:
        return np.zeros(0, np.int64)
    onsets = np.concatenate([onsets for onsets, _ in per_track])
    codes = np.concatenate([codes for _, codes in per_track])
    track_numbers = np.concatenate([np.full(len(c), n) for n, (_, c) in enumerate(per_track)])
    return codes[np.lexsort((track_numbers, onsets))]


@dataclass(frozen=True)
class ChordRepresentation(TokenRepresentationDefaults):
    """Encode a score as note/chord tokens and decode tokens back to a one-track score."""

    step: float = 0.5
    scope: str = "piece"
    program: int = 0
    velocity: int = DEFAULT_VELOCITY
    name: str = "chord"

    def __post_init__(self) -> None:
        if not self.step > 0:
            raise ValueError(f"decoding step must be positive, got {self.step}")
        if self.scope not in CHORD_SCOPES:
            raise CadenzaError(f"chord scope must be one of {CHORD_SCOPES}, got {self.scope!r}")

    def settings(self) -> dict:
        """The encoding settings, stored with the vocabulary."""
        return {"scope": self.scope}

    def encode(self, score: Score) -> list[str]:
        """Score -> tokens, one per distinct (quantized) onset."""
        tokens = code_tokens()
        return [tokens[code] for code in chord_codes(score, self.scope).tolist()]

    def decode(self, tokens: Sequence[str], bpm: float = DEFAULT_TEMPO_BPM) -> Score:
        """Tokens -> a one-track score, one token every `step` quarters, each `step` long."""
        onsets, pitches = [], []
        for position, token in enumerate(tokens):
            for pitch in token_pitches(token):
                onsets.append(position * self.step)
                pitches.append(pitch)
        durations = np.full(len(pitches), self.step)
        return one_track_score(
            "Piano", self.program, self.velocity, onsets, durations, pitches, bpm
        )

    def token_pitches(self, token: str) -> list[int]:
        """The MIDI pitches a token decodes to (a chord voiced from C4)."""
        return token_pitches(token)

    def nearest_token(self, token: str, known: Sequence[str]) -> str:
        """The nearest known note or chord (see `nearest_chord_token`)."""
        return nearest_chord_token(token, list(known))


def token_pitches(token: str) -> list[int]:
    """The MIDI pitches a token stands for: a named pitch, or chord classes voiced from C4."""
    if token and (token[0].isdigit()):
        try:
            classes = [int(part) for part in token.split(".")]
        except ValueError:
            raise CadenzaError(f"not a chord token: {token!r}") from None
        if any(not 0 <= pc <= 11 for pc in classes):
            raise CadenzaError(f"chord token {token!r} has a pitch class outside 0..11")
        if len(classes) == 1:  # one class from several notes: an octave doubling
            return [CHORD_OCTAVE_BASE + classes[0], CHORD_OCTAVE_BASE + 12 + classes[0]]
        return [CHORD_OCTAVE_BASE + pc for pc in classes]
    try:
        return [parse_pitch_name(token)]
    except ValueError:
        raise CadenzaError(f"not a note or chord token: {token!r}") from None


def _pitch_class_set(token: str) -> frozenset[int]:
    return frozenset(pitch % 12 for pitch in token_pitches(token))


def nearest_chord_token(token: str, known: list[str]) -> str:
    """The known token closest to `token`: for a note the nearest pitch among known notes,
    for a chord the known chord sharing the most pitch classes (Jaccard similarity, then
    the closest size), falling back to the other kind when one kind is missing."""
    if not known:
        raise CadenzaError("cannot map a token onto an empty vocabulary")
    notes = [t for t in known if not t[0].isdigit()]
    chords = [t for t in known if t[0].isdigit()]
    is_note = not token[0].isdigit()
    if (is_note and notes) or not chords:
        target = token_pitches(token)[0]

        def pitch_distance(candidate: str) -> tuple[int, int]:
            pitch = token_pitches(candidate)[0]
            return abs(pitch - target), pitch

        return min(notes, key=pitch_distance)
    wanted = _pitch_class_set(token)

    def distance(candidate: str) -> tuple[float, int, str]:
        classes = _pitch_class_set(candidate)
        similarity = len(wanted & classes) / len(wanted | classes)
        return (-similarity, abs(len(classes) - len(wanted)), candidate)

    return min(chords, key=distance)
