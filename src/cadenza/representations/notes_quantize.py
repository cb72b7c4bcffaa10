"""A score on the `notes` token grid: integer twelfths, binned tempos, listed meters, bars.

Both the encoder (`notes.NotesRepresentation.encode`) and `notes.quantize` start from the
`QuantizedPiece` built here, one NumPy array per note field and no Python object per note.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from cadenza.music.score import DEFAULT_TEMPO_BPM, Score
from cadenza.music.tracks import TrackPolicyError

TICKS_PER_QUARTER = 12  # 16ths are 3, triplet 8ths 4, triplet 16ths 2
MAX_TRACKS = 16
MAX_BAR_TICKS = 96  # a bar holds at most 8 quarters
# 31 tempos from 30 to about 300 bpm, nine to an octave (so 60, 120 and 240 are exact),
# rounded to integers.
TEMPO_BINS = np.array([round(30 * 2 ** (k / 9)) for k in range(31)], dtype=np.int64)
# Meters with a token of their own; any other is snapped to one of these (see `snap_meter`).
METERS: tuple[tuple[int, int], ...] = (
    *((n, 4) for n in range(1, 9)),
    *((n, 2) for n in range(1, 5)),
    *((n, 8) for n in range(1, 17)),
    *((n, 16) for n in (3, 5, 6, 7, 9, 12, 15)),
)
# Durations in twelfths: every value up to 4 quarters, then 16th steps up to 8 quarters,
# then 8th steps up to 16 quarters; longer notes are clipped to 16 quarters.
DURATIONS = np.array([*range(1, 49), *range(51, 97, 3), *range(102, 193, 6)], dtype=np.int64)
_LOG_TEMPOS = np.log(TEMPO_BINS)


def bar_length(meter: tuple[int, int]) -> int:
    """The length of a bar of `meter` in twelfths of a quarter."""
    return 48 * meter[0] // meter[1]


def snap_meter(numerator: int, denominator: int) -> tuple[int, bool]:
    """The index in `METERS` for a meter, and whether it had to be snapped: to a listed
    meter with the same bar length (the same denominator first), else the nearest length."""
    if (numerator, denominator) in METERS:
        return METERS.index((numerator, denominator)), False
    length = 48 * numerator / denominator

    def distance(index: int) -> tuple[float, bool]:
        meter = METERS[index]
        return (abs(bar_length(meter) - length), meter[1] != denominator)

    return min(range(len(METERS)), key=distance), True


def snap_durations(ticks: np.ndarray) -> np.ndarray:
    """Lengths in twelfths -> the nearest value of `DURATIONS` (ties to the shorter)."""
    ticks = np.clip(ticks, DURATIONS[0], DURATIONS[-1])
    above = np.minimum(np.searchsorted(DURATIONS, ticks), len(DURATIONS) - 1)
    below = np.maximum(above - 1, 0)
    nearer_below = ticks - DURATIONS[below] <= DURATIONS[above] - ticks
    return np.where(nearer_below, DURATIONS[below], DURATIONS[above])


def tempo_bin(bpm: np.ndarray) -> np.ndarray:
    """Tempos in bpm -> indices of the nearest `TEMPO_BINS` (nearest in log(bpm))."""
    distance = np.abs(np.log(np.asarray(bpm, np.float64))[:, None] - _LOG_TEMPOS)
    return distance.argmin(axis=1)


def velocity_value(bins: np.ndarray, count: int) -> np.ndarray:
    """Velocity bins (of `count` equal bins over 1..127) -> the middle velocity of each."""
    return 1 + (2 * np.asarray(bins, np.int64) + 1) * 127 // (2 * count)


@dataclass
class QuantizedPiece:
    """A score on the grid. Note arrays are sorted by (onset, track, pitch); ticks are
    twelfths of a quarter from the score's start (bars may start before it: a pickup)."""

    programs: list[int]  # per track, -1 for a drum track
    tracks: np.ndarray
    onsets: np.ndarray
    pitches: np.ndarray
    durations: np.ndarray
    velocity_bins: np.ndarray
    bar_starts: np.ndarray
    bar_meters: np.ndarray  # per bar, its meter's index where a meter starts, else -1
    meters: list[tuple[int, int]]  # (tick, meter index), the first at 0
    initial_tempo: int  # index into TEMPO_BINS
    tempo_ticks: np.ndarray  # later tempo changes (ticks > 0)
    tempo_bins: np.ndarray
    pickup: int
    statistics: Counter

    def tempo_changes(self) -> list[tuple[int, int]]:
        """(tick, tempo bin) of every tempo, the first at 0."""
        later = zip(self.tempo_ticks.tolist(), self.tempo_bins.tolist(), strict=True)
        return [(0, self.initial_tempo), *later]

    def meter_changes(self) -> list[tuple[int, int]]:
        """(tick, meter index) of every meter, the first at 0."""
        return self.meters

    def tempo_events(self) -> tuple[np.ndarray, np.ndarray]:
        """The tempo tokens inside the bars: the changes, plus the opening tempo again at
        time 0 when no note starts there (so that decoding finds where the piece starts)."""
        if len(self.onsets) and self.onsets[0] == 0:
            return self.tempo_ticks, self.tempo_bins
        return (
            np.concatenate([[0], self.tempo_ticks]),
            np.concatenate([[self.initial_tempo], self.tempo_bins]),
        )


def quantize_piece(score: Score, velocity_bins: int = 0) -> QuantizedPiece | None:
    """Snap a score to the grid; None when it has no notes."""
    if len(score.tracks) > MAX_TRACKS:
        raise TrackPolicyError(
            "too many tracks",
            f"the notes representation holds at most {MAX_TRACKS} tracks; "
            f"this score has {len(score.tracks)}",
        )
    if not score.note_count:
        return None
    statistics: Counter[str] = Counter()
    tracks, onsets, pitches, durations, velocities = _notes(score, statistics)
    bins = (
        np.clip((velocities - 1) * velocity_bins // 127, 0, velocity_bins - 1)
        if velocity_bins
        else np.zeros(len(velocities), np.int64)
    )
    last = int(onsets[-1])
    meters, pickup = _meters(score, last, statistics)
    bar_starts, bar_meters = _bars(meters, pickup, last)
    initial_tempo, tempo_ticks, tempo_bins = _tempos(score, last)
    return QuantizedPiece(
        programs=[-1 if t.is_drum else t.program for t in score.tracks],
        tracks=tracks,
        onsets=onsets,
        pitches=pitches,
        durations=durations,
        velocity_bins=bins,
        bar_starts=bar_starts,
        bar_meters=bar_meters,
        meters=[(max(tick, 0), meter) for tick, meter in meters],
        initial_tempo=initial_tempo,
        tempo_ticks=tempo_ticks,
        tempo_bins=tempo_bins,
        pickup=pickup,
        statistics=statistics,
    )


def _notes(score: Score, statistics: Counter) -> tuple[np.ndarray, ...]:
    """All notes on the grid, duplicates (track, onset, pitch) kept once (the longest)."""
    counts = [len(track) for track in score.tracks]
    tracks = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    onsets = np.concatenate([t.onsets for t in score.tracks])
    ends = onsets + np.concatenate([t.durations for t in score.tracks])
    pitches = np.concatenate([t.pitches for t in score.tracks]).astype(np.int64)
    velocities = np.concatenate([t.velocities for t in score.tracks]).astype(np.int64)
    starts = np.maximum(np.round(onsets * TICKS_PER_QUARTER), 0).astype(np.int64)
    lengths = np.round(ends * TICKS_PER_QUARTER).astype(np.int64) - starts
    statistics["durations clipped"] += int((lengths > DURATIONS[-1]).sum())
    lengths = snap_durations(lengths)
    order = np.lexsort((-lengths, pitches, tracks, starts))
    tracks, starts, pitches = tracks[order], starts[order], pitches[order]
    lengths, velocities = lengths[order], velocities[order]
    first = np.ones(len(order), bool)
    first[1:] = (np.diff(starts) != 0) | (np.diff(tracks) != 0) | (np.diff(pitches) != 0)
    statistics["duplicate notes dropped"] += int(len(first) - first.sum())
    return tracks[first], starts[first], pitches[first], lengths[first], velocities[first]


def _meters(score: Score, last: int, statistics: Counter) -> tuple[list[tuple[int, int]], int]:
    """(bar line tick, meter index) where each meter starts, and the pickup in ticks.

    A meter change that does not fall on a bar line starts at the next one; changes after
    the bar of the last onset are dropped."""
    signatures = sorted(score.time_signatures, key=lambda s: s.onset)
    meter = DEFAULT_METER_INDEX
    later = []
    for signature in signatures:
        tick = round(signature.onset * TICKS_PER_QUARTER)
        index, snapped = snap_meter(signature.numerator, signature.denominator)
        statistics["meters snapped"] += snapped
        if tick <= 0:
            meter = index
        else:
            later.append((tick, index))
    length = bar_length(METERS[meter])
    pickup = round(score.pickup * TICKS_PER_QUARTER)
    pickup = pickup if 0 < pickup < length else 0
    meters = [(pickup - length if pickup else 0, meter)]
    for tick, index in later:
        start, current = meters[-1]
        step = bar_length(METERS[current])
        line = start + max(-(-(tick - start) // step), 0) * step  # first bar line from tick on
        if line > last:
            break
        if line == start:  # two changes at one bar line: the later wins
            meters.pop()
        if not meters or meters[-1][1] != index:
            meters.append((line, index))
    return meters, pickup


def _bars(meters: list[tuple[int, int]], pickup: int, last: int) -> tuple[np.ndarray, ...]:
    """Bar start ticks up to the bar holding `last`, and each bar's meter where it starts."""
    starts, labels = [], []
    for number, (start, meter) in enumerate(meters):
        step = bar_length(METERS[meter])
        end = meters[number + 1][0] if number + 1 < len(meters) else last + 1
        bars = np.arange(start, end, step, dtype=np.int64)
        starts.append(bars)
        label = np.full(len(bars), -1, np.int64)
        label[0] = meter
        labels.append(label)
    return np.concatenate(starts), np.concatenate(labels)


def _tempos(score: Score, last: int) -> tuple[int, np.ndarray, np.ndarray]:
    """The opening tempo's bin, and the later changes up to `last` (same tick: the later
    wins; a change to the tempo already in force is no change)."""
    changes = sorted((t for t in score.tempos if t.bpm > 0), key=lambda t: t.onset)
    ticks = np.array([round(t.onset * TICKS_PER_QUARTER) for t in changes], np.int64)
    bins = tempo_bin([t.bpm for t in changes]) if changes else np.zeros(0, np.int64)
    opening = ticks <= 0
    initial = int(bins[opening][-1]) if opening.any() else int(tempo_bin([DEFAULT_TEMPO_BPM])[0])
    keep = ~opening & (ticks <= last)
    ticks, bins = ticks[keep], bins[keep]
    latest = np.ones(len(ticks), bool)
    latest[:-1] = ticks[1:] != ticks[:-1]
    ticks, bins = ticks[latest], bins[latest]
    changed = bins != np.concatenate([[initial], bins[:-1]])
    return initial, ticks[changed], bins[changed].astype(np.int64)


DEFAULT_METER_INDEX = METERS.index((4, 4))
