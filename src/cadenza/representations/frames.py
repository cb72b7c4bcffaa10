"""The `frames` representation: an 88-key piano roll sampled on a grid, one token per frame.

The classic polyphonic benchmarks (JSB Chorales, Nottingham, MuseData, Piano-midi.de) store
music as frames of 88 binary keys, from A0 (MIDI 21) to C8 (MIDI 108). A frame's token is its
sounding MIDI pitches, low to high, joined by dots ("60.64.67"), or "rest" for an empty
frame. A piece opens with START, so that a model predicts its first frame too.

A score is sampled as those datasets were made: frame k holds the keys sounding at time
k * `frame_length` quarters (a note sounds from its onset up to, not including, its end);
onsets and ends are first snapped to 1/12 quarter, and pitches outside the 88 keys are
dropped. Decoding plays a pitch held over consecutive frames as one note, since a binary roll
cannot tell a held note from a repeated one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.music.score import DEFAULT_TEMPO_BPM, DEFAULT_VELOCITY, Score
from cadenza.representations.base import TokenRepresentationDefaults, one_track_score
from cadenza.representations.chord import TWELFTHS_PER_QUARTER

LOWEST_PITCH, KEYS = 21, 88  # A0 .. C8
START, REST = "START", "rest"


def frame_token(pitches: Iterable[int]) -> str:
    """MIDI pitches sounding together -> their token: "60.64.67", or "rest" when none."""
    ordered = sorted({int(p) for p in pitches})
    return ".".join(str(p) for p in ordered) if ordered else REST


def frame_pitches(token: str) -> list[int]:
    """A frame token -> its MIDI pitches, low to high; [] for "rest"."""
    if token == REST:
        return []
    try:
        pitches = [int(part) for part in token.split(".")]
    except ValueError:
        raise CadenzaError(f"not a frame token: {token!r}") from None
    if pitches != sorted(set(pitches)) or not all(
        LOWEST_PITCH <= p < LOWEST_PITCH + KEYS for p in pitches
    ):
        raise CadenzaError(f"not a frame token: {token!r} (distinct MIDI pitches 21..108, rising)")
    return pitches


def frame_matrix(tokens: Sequence[str]) -> np.ndarray:
    """Tokens -> (len(tokens), 88) booleans, one row per token; START is an empty row."""
    matrix = np.zeros((len(tokens), KEYS), dtype=bool)
    for row, token in enumerate(tokens):
        if token != START:
            matrix[row, np.asarray(frame_pitches(token), dtype=np.int64) - LOWEST_PITCH] = True
    return matrix


def compact_frame_tokens(frames: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(T, 88) frames -> (distinct tokens, indices): `tokens[indices]` is [START, f1, ..., fT]."""
    if not len(frames):
        return [START], np.zeros(1, np.uint32)
    distinct, inverse = np.unique(frames.astype(bool), axis=0, return_inverse=True)
    tokens = [START, *(frame_token(LOWEST_PITCH + np.flatnonzero(row)) for row in distinct)]
    return tokens, np.concatenate([[0], inverse.reshape(-1) + 1]).astype(np.uint32)


def sample_frames(score: Score, frame_length: float = 1.0) -> np.ndarray:
    """The keys sounding at each multiple of `frame_length` quarters: (T, 88) booleans."""
    grid = _twelfths(frame_length)
    track = score.merged()
    starts = np.round(track.onsets * TWELFTHS_PER_QUARTER).astype(np.int64).clip(min=0)
    ends = np.round((track.onsets + track.durations) * TWELFTHS_PER_QUARTER).astype(np.int64)
    keys = track.pitches.astype(np.int64) - LOWEST_PITCH
    keep = (ends > starts) & (keys >= 0) & (keys < KEYS)
    starts, ends, keys = starts[keep], ends[keep], keys[keep]
    if not len(keys):
        return np.zeros((0, KEYS), dtype=bool)
    first, stop = -(-starts // grid), -(-ends // grid)  # frames first..stop-1 (ceil division)
    changes = np.zeros((int(stop.max()) + 1, KEYS), dtype=np.int64)
    np.add.at(changes, (first, keys), 1)
    np.add.at(changes, (stop, keys), -1)
    return np.cumsum(changes, axis=0)[:-1] > 0


def _twelfths(frame_length: float) -> int:
    twelfths = round(frame_length * TWELFTHS_PER_QUARTER)
    if twelfths < 1 or abs(twelfths - frame_length * TWELFTHS_PER_QUARTER) > 1e-6:
        raise CadenzaError(
            f"frame length must be a positive multiple of 1/12 quarter, got {frame_length}"
        )
    return twelfths


@dataclass(frozen=True)
class FrameRepresentation(TokenRepresentationDefaults):
    """Encode a score as START plus one token per frame; decode tokens to a one-track score."""

    frame_length: float = 1.0  # quarters per frame when sampling a score (JSB: a quarter)
    step: float = 0.5  # quarters per frame when decoding (`cadenza generate --step`)
    program: int = 0
    velocity: int = DEFAULT_VELOCITY
    name: str = "frames"

    def __post_init__(self) -> None:
        _twelfths(self.frame_length)
        if not self.step > 0:
            raise ValueError(f"decoding step must be positive, got {self.step}")

    def settings(self) -> dict:
        """The encoding settings, stored with the vocabulary."""
        return {}

    def encode(self, score: Score) -> list[str]:
        """Score -> [START, one token per frame]; [] for a piece with no notes on the 88 keys."""
        frames = sample_frames(score, self.frame_length)
        if not len(frames):
            return []
        tokens, indices = self.frame_tokens(frames)
        return [tokens[i] for i in indices.tolist()]

    def frame_tokens(self, frames: np.ndarray) -> tuple[list[str], np.ndarray]:
        """(T, 88) booleans -> (distinct tokens, indices): `tokens[indices]` is the piece,
        START first (how a frame dataset is prepared)."""
        return compact_frame_tokens(frames)

    def decode(self, tokens: Sequence[str], bpm: float = DEFAULT_TEMPO_BPM) -> Score:
        """Tokens -> a one-track score, one frame every `step` quarters; a START ends every
        sounding note (it begins a new piece) and takes no time."""
        onsets, durations, pitches = [], [], []
        sounding: dict[int, int] = {}  # pitch -> the frame it began in
        position = 0

        def release(pitch: int) -> None:
            began = sounding.pop(pitch)
            onsets.append(began * self.step)
            durations.append((position - began) * self.step)
            pitches.append(pitch)

        for token in tokens:
            now = set() if token == START else set(frame_pitches(token))
            for pitch in sorted(set(sounding) - now):
                release(pitch)
            if token == START:
                continue
            for pitch in sorted(now - set(sounding)):
                sounding[pitch] = position
            position += 1
        for pitch in sorted(sounding):
            release(pitch)
        return one_track_score(
            "Piano", self.program, self.velocity, onsets, durations, pitches, bpm
        )

    def token_pitches(self, token: str) -> list[int]:
        """The keys a frame sounds; [] for START."""
        return [] if token == START else frame_pitches(token)

    def nearest_token(self, token: str, known: Sequence[str]) -> str:
        """The known frame with the fewest keys different."""
        return nearest_frame_token(token, known)


def nearest_frame_token(token: str, known: Sequence[str]) -> str:
    """The known frame closest to `token`: the fewest keys that differ, then the token."""
    candidates = [t for t in known if t != START]
    if not candidates:
        raise CadenzaError("cannot map a frame onto a vocabulary with no frames")
    wanted = set(frame_pitches(token))
    return min(candidates, key=lambda t: (len(wanted ^ set(frame_pitches(t))), t))
