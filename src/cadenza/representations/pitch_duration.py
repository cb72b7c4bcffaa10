"""The `pitch-duration` representation (Generative Deep Learning, chapter 7), with rests.

The score is chordified: every note start and end over all tracks cuts the piece into
segments, and each segment is one event: the pitches sounding in it ("E4", or "C4.E4.G4"
low to high, or "rest") and its length in quarters ("0.5", "1.0", "1/3", "2/3"). An event is
two tokens, pitch then duration. A piece opens with the pair START 0 and closes with END 0,
so that a model can begin from nothing and stop on its own.

Onsets and note ends are snapped to the nearest 1/12 of a quarter, the finest grid that
holds 16th notes (3/12), triplet 8ths (4/12) and triplet 16ths (2/12) wherever they start,
so every duration is a multiple of 1/12 quarter; notes that snap to no length are dropped.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.music.score import DEFAULT_TEMPO_BPM, DEFAULT_VELOCITY, Score
from cadenza.representations.base import TokenRepresentationDefaults, one_track_score
from cadenza.representations.chord import TWELFTHS_PER_QUARTER
from cadenza.representations.pitch_names import PITCH_NAMES, parse_pitch_name

START, END, REST = "START", "END", "rest"
FRAME_DURATION = "0"


def duration_token(twelfths: int) -> str:
    """A length in twelfths of a quarter as music21 prints quarter lengths: "0.5", "1/3"."""
    value = Fraction(twelfths, TWELFTHS_PER_QUARTER)
    if value.denominator & (value.denominator - 1) == 0:  # a power of two: a plain decimal
        return str(float(value))
    return str(value)


def parse_duration(token: str) -> Fraction:
    """A duration token -> quarter length as a fraction."""
    try:
        value = Fraction(token)
    except (ValueError, ZeroDivisionError):
        raise CadenzaError(f"not a duration token: {token!r}") from None
    if value < 0:
        raise CadenzaError(f"negative duration token: {token!r}")
    return value


def is_duration_token(token: str) -> bool:
    """Duration tokens start with a digit; pitch tokens with a letter (names, rest, START, END)."""
    return token[:1].isdigit()


def chordify(score: Score) -> list[tuple[tuple[int, ...], int]]:
    """Segments of the piece from time 0: (sounding MIDI pitches, length in twelfths)."""
    track = score.merged()
    starts = np.round(track.onsets * TWELFTHS_PER_QUARTER).astype(np.int64)
    ends = np.round((track.onsets + track.durations) * TWELFTHS_PER_QUARTER).astype(np.int64)
    keep = ends > starts
    starts, ends, pitches = starts[keep], ends[keep], track.pitches[keep].astype(int)
    if not len(starts):
        return []
    boundaries = np.unique(np.concatenate([[0], starts, ends]))
    boundaries = boundaries[boundaries >= 0]
    # one sweep over the boundaries (a mask over every note at each was quadratic in length)
    begins_at = np.searchsorted(boundaries, np.maximum(starts, 0)).tolist()
    stops_at = np.searchsorted(boundaries, ends).tolist()
    changes: list[list[tuple[int, int]]] = [[] for _ in boundaries]
    for pitch, begin, stop in zip(pitches.tolist(), begins_at, stops_at, strict=True):
        changes[begin].append((pitch, 1))
        changes[stop].append((pitch, -1))
    sounding: Counter[int] = Counter()
    segments = []
    for index, (left, right) in enumerate(itertools.pairwise(boundaries.tolist())):
        for pitch, change in changes[index]:
            sounding[pitch] += change
        pitches_now = tuple(sorted(pitch for pitch, count in sounding.items() if count > 0))
        segments.append((pitches_now, right - left))
    return segments


@dataclass(frozen=True)
class PitchDurationRepresentation(TokenRepresentationDefaults):
    """Encode a score as (pitch, duration) token pairs framed by START and END."""

    program: int = 0
    velocity: int = DEFAULT_VELOCITY
    name: str = "pitch-duration"
    streams = 2  # a step is a (pitch, duration) pair
    end_token = END

    def settings(self) -> dict:
        """The encoding settings, stored with the vocabulary."""
        return {}

    def encode(self, score: Score) -> list[str]:
        """Score -> [START, "0", pitch, duration, ..., END, "0"]; [] for a piece with no notes."""
        segments = chordify(score)
        if not segments:
            return []
        tokens = [START, FRAME_DURATION]
        for pitches, length in segments:
            pitch = ".".join(PITCH_NAMES[p] for p in pitches) if pitches else REST
            tokens += [pitch, duration_token(length)]
        return [*tokens, END, FRAME_DURATION]

    def decode(self, tokens: Sequence[str], bpm: float = DEFAULT_TEMPO_BPM) -> Score:
        """Token pairs -> a one-track score with the real durations; rests leave silence."""
        if len(tokens) % 2:
            raise CadenzaError(f"pitch-duration tokens come in pairs, got {len(tokens)} tokens")
        onsets, durations, pitches, time = [], [], [], Fraction(0)
        for pitch, duration in zip(tokens[::2], tokens[1::2], strict=True):
            if pitch == END:
                break
            length = parse_duration(duration)
            if pitch not in (START, REST):
                for midi_pitch in event_pitches(pitch):
                    onsets.append(float(time))
                    durations.append(float(length))
                    pitches.append(midi_pitch)
            time += length
        return one_track_score(
            "Melody", self.program, self.velocity, onsets, durations, pitches, bpm
        )

    def token_pitches(self, token: str) -> list[int]:
        """The pitches of a pitch token; [] for durations, rest, START and END."""
        return [] if is_duration_token(token) else event_pitches(token)

    def nearest_token(self, token: str, known: Sequence[str]) -> str:
        """The nearest known token of the same kind (see `nearest_pitch_duration_token`)."""
        return nearest_pitch_duration_token(token, known)

    def opening_tokens(self) -> list[str]:
        """The START pair."""
        return [START, FRAME_DURATION]

    def primer_tokens(self, tokens: list[str]) -> list[str]:
        """The events without the closing END pair: a primer goes on."""
        return tokens[:-2] if tokens[-2:] == [END, FRAME_DURATION] else list(tokens)


def event_pitches(token: str) -> list[int]:
    """MIDI pitches of a pitch token ("E4" or "C4.E4.G4"); [] for rest, START and END."""
    if token in (START, END, REST):
        return []
    try:
        return [parse_pitch_name(name) for name in token.split(".")]
    except ValueError:
        raise CadenzaError(f"not a pitch token: {token!r}") from None


def pair_vocabularies(tokens: Sequence[str]) -> tuple[list[str], list[str]]:
    """A pitch-duration vocabulary split into its pitch tokens and its duration tokens."""
    pitches = [t for t in tokens if not is_duration_token(t)]
    durations = [t for t in tokens if is_duration_token(t)]
    return pitches, durations


def pair_lookup(tokens: Sequence[str]) -> np.ndarray:
    """For each id of the shared vocabulary, its index among the pitches or the durations."""
    pitches, durations = pair_vocabularies(tokens)
    position = {t: i for i, t in enumerate(pitches)} | {t: i for i, t in enumerate(durations)}
    return np.array([position[t] for t in tokens], dtype=np.int64)


def nearest_pitch_duration_token(token: str, known: Sequence[str]) -> str:
    """The known token closest to `token`, of the same kind: the nearest length for a duration;
    for pitches the one sharing the most pitches (then the closest lowest pitch)."""
    if is_duration_token(token):
        wanted = parse_duration(token)
        candidates = [t for t in known if is_duration_token(t)]
        return min(candidates, key=lambda t: (abs(parse_duration(t) - wanted), t))
    candidates = [t for t in known if not is_duration_token(t) and t not in (START, END)]
    wanted_pitches = set(event_pitches(token))

    def distance(candidate: str) -> tuple[float, int, str]:
        pitches = set(event_pitches(candidate))
        union = wanted_pitches | pitches
        similarity = len(wanted_pitches & pitches) / len(union) if union else 1.0
        lowest = abs(min(pitches, default=0) - min(wanted_pitches, default=0))
        return (-similarity, lowest, candidate)

    return min(candidates, key=distance)
