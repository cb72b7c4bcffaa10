"""Which notes of a composition around given notes were given, for the piano roll to draw
them apart: whole voices (harmonize, regenerate) or every bar but the composed ones (infill)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from cadenza.music.score import Score


def given_voices(score: Score, kept: Iterable[int]) -> list[np.ndarray]:
    """Per track, one boolean per note: True for every note of a kept track."""
    kept = set(kept)
    return [np.full(len(track), number in kept) for number, track in enumerate(score.tracks)]


def given_outside_bars(score: Score, bars: tuple[int, int]) -> list[np.ndarray]:
    """Per track, one boolean per note: True for notes starting outside bars FIRST..LAST
    (1-based, inclusive; the bar lines are the score's meters, a pickup its first bar)."""
    starts = bar_starts(score, bars[1])
    begin, end = starts[bars[0] - 1], starts[bars[1]]
    return [(track.onsets < begin) | (track.onsets >= end) for track in score.tracks]


def bar_starts(score: Score, count: int) -> list[float]:
    """The onsets of bars 1 .. `count` + 1 (quarters): a pickup is the first bar, and
    each later bar lasts as its meter says (4/4 when the score has none)."""
    meters = sorted(score.time_signatures, key=lambda meter: meter.onset)
    starts, time = [0.0], float(score.pickup)
    if time > 0:
        starts.append(time)
    while len(starts) <= count:
        current = [m for m in meters if m.onset <= time + 1e-9]
        meter = current[-1] if current else (meters[0] if meters else None)
        time += meter.numerator * 4 / meter.denominator if meter else 4.0
        starts.append(time)
    return starts[: count + 1]
