"""Decoding `notes` tokens: a reader that takes them one at a time and builds the score.

See representations/notes.py for what the tokens mean; the vocabulary's tables, which give
each token its kind and value, are in representations/notes_vocabulary.py.
"""

from __future__ import annotations

import numpy as np

from cadenza.music.score import Score, TempoChange, TimeSignature, Track
from cadenza.representations.notes_quantize import (
    METERS,
    TEMPO_BINS,
    TICKS_PER_QUARTER,
    bar_length,
    velocity_value,
)
from cadenza.representations.notes_vocabulary import (
    BAR_KIND,
    DURATION_KIND,
    KEY_KIND,
    PITCH_KIND,
    POSITION_KIND,
    PROGRAM_KIND,
    TEMPO_KIND,
    TRACK_KIND,
    VELOCITY_KIND,
    key_signature,
)

DEFAULT_METER = METERS.index((4, 4))


class NotesDecoder:
    """Reads tokens one at a time and collects notes, tempos and meters (ticks are
    twelfths from the first bar's start; time 0 is the first bar's first position)."""

    def __init__(self, velocity_bins: int, velocity: int) -> None:
        self.velocity_bins, self.velocity = velocity_bins, velocity
        self.programs: dict[int, int] = {}
        self.header = True
        self.bar_start, self.bar_length, self.bars = 0, 0, 0
        self.meter = DEFAULT_METER
        self.meters: list[tuple[int, int]] = []
        self.initial_tempo: int | None = None
        self.key: int | None = None
        self.tempos: list[tuple[int, int]] = []
        self.origin: int | None = None
        self.position: int | None = None
        self.track: int | None = None
        self.pitch: int | None = None
        self.velocity_bin: int | None = None
        self.notes: list[tuple[int, int, int, int, int]] = []  # track, tick, pitch, vel, length

    def push(self, kind: int, value: int) -> None:
        """Take the next token, as its (kind, value) in the vocabulary's table."""
        if kind == TRACK_KIND:
            self.track, self.pitch, self.velocity_bin = value, None, None
        elif kind == PITCH_KIND:
            self.pitch = value
        elif kind == VELOCITY_KIND:
            self.velocity_bin = value
        elif kind == DURATION_KIND:
            if None not in (self.pitch, self.track, self.position):
                velocity_bin = -1 if self.velocity_bin is None else self.velocity_bin
                self.notes.append((self.track, self.position, self.pitch, velocity_bin, value))
            self.pitch = self.velocity_bin = None
        elif kind == POSITION_KIND:
            if not self.bars:
                self._bar(-1)
            self.position = self.bar_start + value
            if self.bars == 1 and self.origin is None:
                self.origin = value
        elif kind == BAR_KIND:
            self._bar(value)
        elif kind == TEMPO_KIND:
            if self.header:
                self.initial_tempo = value
            else:
                self.tempos.append(
                    (self.bar_start if self.position is None else self.position, value)
                )
        elif kind == PROGRAM_KIND and self.header and self.track is not None:
            self.programs[self.track] = value
        elif kind == KEY_KIND and self.header:
            self.key = value

    def _bar(self, meter: int) -> None:
        if self.bars:
            self.bar_start += self.bar_length
        self.header, self.position, self.track, self.pitch = False, None, None, None
        if meter >= 0 and (meter != self.meter or not self.bars):
            self.meter = meter
            self.meters.append((self.bar_start, meter))
        elif not self.bars:
            self.meters.append((0, self.meter))
        self.bar_length = bar_length(METERS[self.meter])
        self.bars += 1

    def score(self, bpm: float) -> Score:
        """The score read so far; `bpm` is the tempo where the tokens state none."""
        origin = self.origin or 0
        first_bar = bar_length(METERS[self.meters[0][1]]) if self.meters else 0
        used = max((note[0] for note in self.notes), default=-1)
        count = max(len(self.programs) and max(self.programs) + 1, used + 1)
        columns = np.array(self.notes, np.int64).reshape(-1, 5)
        tracks = []
        for number in range(count):
            mine = columns[columns[:, 0] == number]
            program = self.programs.get(number, 0)
            velocities = np.full(len(mine), self.velocity)
            if self.velocity_bins:
                given = mine[:, 3] >= 0
                velocities[given] = velocity_value(mine[given, 3], self.velocity_bins)
            tracks.append(
                Track(
                    name=f"Track {number + 1}",
                    program=max(program, 0),
                    is_drum=program < 0,
                    onsets=np.maximum(mine[:, 1] - origin, 0) / TICKS_PER_QUARTER,
                    durations=mine[:, 4] / TICKS_PER_QUARTER,
                    pitches=mine[:, 2],
                    velocities=velocities,
                )
            )
        first = float(TEMPO_BINS[self.initial_tempo]) if self.initial_tempo is not None else bpm
        tempos = [TempoChange(0.0, first)]
        for tick, value in self.tempos:
            onset, tempo = max(tick - origin, 0) / TICKS_PER_QUARTER, float(TEMPO_BINS[value])
            if tempos[-1].onset == onset:
                tempos.pop()
            if not tempos or tempos[-1].bpm != tempo:
                tempos.append(TempoChange(onset, tempo))
        return Score(
            tracks=tracks,
            tempos=tempos,
            time_signatures=[
                TimeSignature(max(tick - origin, 0) / TICKS_PER_QUARTER, *METERS[meter])
                for tick, meter in self.meters
            ],
            pickup=(first_bar - origin) / TICKS_PER_QUARTER if origin else 0.0,
            key_signatures=[] if self.key is None else [key_signature(self.key)],
        )
