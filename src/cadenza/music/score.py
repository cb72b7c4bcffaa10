"""The one score type that every reader returns and every writer takes.

Times are in quarter lengths (a quarter note is 1.0). Notes of a track are kept as four
parallel NumPy arrays rather than one Python object per note, so that reading and
tokenizing thousands of files stays fast and light.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

DEFAULT_TEMPO_BPM = 120.0
DEFAULT_VELOCITY = 80


class Note(NamedTuple):
    """One note: onset and duration in quarter lengths, MIDI pitch, velocity."""

    onset: float
    duration: float
    pitch: int
    velocity: int = DEFAULT_VELOCITY


@dataclass(frozen=True)
class TempoChange:
    """A tempo in quarter notes per minute from `onset` on."""

    onset: float
    bpm: float


@dataclass(frozen=True)
class KeySignature:
    """A key from `onset` on: `sharps` > 0 counts sharps, < 0 flats; minor or major mode."""

    onset: float
    sharps: int
    minor: bool = False

    def __post_init__(self) -> None:
        if not -7 <= self.sharps <= 7:
            raise ValueError(f"key signature sharps must be in -7..7, got {self.sharps}")

    @property
    def tonic_pitch_class(self) -> int:
        """Pitch class of the tonic (0 = C)."""
        major_tonic = (self.sharps * 7) % 12
        return (major_tonic + 9) % 12 if self.minor else major_tonic


@dataclass(frozen=True)
class TimeSignature:
    """A meter from `onset` on, e.g. 3/4."""

    onset: float
    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        if self.numerator < 1 or self.denominator not in (1, 2, 4, 8, 16, 32, 64):
            raise ValueError(f"invalid time signature {self.numerator}/{self.denominator}")


def _float_array(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


@dataclass
class Track:
    """One instrument's notes, as parallel arrays sorted by onset then pitch."""

    name: str = ""
    program: int = 0
    is_drum: bool = False
    onsets: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    durations: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    pitches: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    velocities: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))

    def __post_init__(self) -> None:
        if not 0 <= self.program <= 127:
            raise ValueError(f"instrument program must be in 0..127, got {self.program}")
        self.onsets = _float_array(self.onsets)
        self.durations = _float_array(self.durations)
        self.pitches = np.asarray(self.pitches, dtype=np.int16).reshape(-1)
        self.velocities = np.asarray(self.velocities, dtype=np.int16).reshape(-1)
        sizes = {len(self.onsets), len(self.durations), len(self.pitches), len(self.velocities)}
        if len(sizes) != 1:
            raise ValueError(f"track {self.name!r}: note arrays differ in length")
        if len(self.pitches) and (self.pitches.min() < 0 or self.pitches.max() > 127):
            raise ValueError(f"track {self.name!r}: MIDI pitch outside 0..127")
        order = np.lexsort((self.pitches, self.onsets))
        if not np.array_equal(order, np.arange(len(order))):
            self.onsets, self.durations = self.onsets[order], self.durations[order]
            self.pitches, self.velocities = self.pitches[order], self.velocities[order]

    @classmethod
    def from_notes(
        cls, notes: list[Note], name: str = "", program: int = 0, is_drum: bool = False
    ) -> Track:
        """Build a track from a list of `Note`s."""
        columns = list(zip(*notes, strict=True)) if notes else [[], [], [], []]
        onsets, durations, pitches, velocities = columns
        return cls(name, program, is_drum, onsets, durations, pitches, velocities)

    def notes(self) -> Iterator[Note]:
        """The notes one by one, in onset order."""
        for onset, duration, pitch, velocity in zip(
            self.onsets.tolist(),
            self.durations.tolist(),
            self.pitches.tolist(),
            self.velocities.tolist(),
            strict=True,
        ):
            yield Note(onset, duration, pitch, velocity)

    def __len__(self) -> int:
        return len(self.pitches)

    @property
    def end(self) -> float:
        """The time the last note stops sounding."""
        return float((self.onsets + self.durations).max()) if len(self) else 0.0


@dataclass
class Score:
    """A piece: tracks plus tempo, key and time-signature changes, all in quarter lengths."""

    tracks: list[Track] = field(default_factory=list)
    tempos: list[TempoChange] = field(default_factory=list)
    key_signatures: list[KeySignature] = field(default_factory=list)
    time_signatures: list[TimeSignature] = field(default_factory=list)
    title: str = ""
    ticks_per_quarter: int = 480  # MIDI resolution to write with; readers keep the source's
    pickup: float = 0.0  # quarter lengths of an incomplete first bar (0: starts on a downbeat)

    @property
    def note_count(self) -> int:
        """Number of notes over all tracks."""
        return sum(len(track) for track in self.tracks)

    @property
    def end(self) -> float:
        """The time the last note of any track stops sounding."""
        return max((track.end for track in self.tracks), default=0.0)

    def merged(self, name: str = "merged") -> Track:
        """All tracks' notes as one track (program of the first track)."""
        if not self.tracks:
            return Track(name=name)
        return Track(
            name=name,
            program=self.tracks[0].program,
            is_drum=all(track.is_drum for track in self.tracks),
            onsets=np.concatenate([t.onsets for t in self.tracks]),
            durations=np.concatenate([t.durations for t in self.tracks]),
            pitches=np.concatenate([t.pitches for t in self.tracks]),
            velocities=np.concatenate([t.velocities for t in self.tracks]),
        )

    def with_tracks(self, tracks: list[Track]) -> Score:
        """The same score (tempo, key, meter, title) with other tracks."""
        return replace(self, tracks=tracks)
