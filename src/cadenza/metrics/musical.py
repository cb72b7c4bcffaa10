"""Musical metrics of one piece, as MusPy defines them, plus repetition rates of token sequences.

Every metric is a pure function that returns a float, NaN when the input holds nothing to
measure (no notes, no time, too few tokens). Times are read on a grid of `STEPS_PER_QUARTER`
steps per quarter note (16ths, triplet 8ths and triplet 16ths all fall on it); a beat is a
quarter note, as in MusPy (whose `resolution` is time steps per quarter). Drum tracks are
ignored by the pitch metrics and counted by the rhythm metrics, as MusPy does.

Where MusPy's code and its own formula disagree, the formula is followed and the docstring
says so.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from itertools import pairwise

import numpy as np

from cadenza.music.scales import SCALES
from cadenza.music.score import Score, Track

STEPS_PER_QUARTER = 12
NAN = math.nan

MUSPY_MODES = ("major", "minor")  # the scales MusPy measures: major and natural minor


def _pitched(score: Score) -> Track:
    """All non-drum notes as one track."""
    return score.with_tracks([t for t in score.tracks if not t.is_drum]).merged()


def _grid(times: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(times, dtype=np.float64) * STEPS_PER_QUARTER).astype(np.int64)


def _length_steps(score: Score) -> int:
    """The end of the last note of any track, in grid steps."""
    return int(_grid(np.array([score.end]))[0])


def pitch_range(score: Score) -> float:
    """Highest minus lowest MIDI pitch: max(p) - min(p) over the notes."""
    pitches = _pitched(score).pitches
    return float(pitches.max() - pitches.min()) if len(pitches) else NAN


def pitches_used(score: Score) -> float:
    """The number of distinct MIDI pitches: |{p}| (MusPy's n_pitches_used)."""
    pitches = _pitched(score).pitches
    return float(len(np.unique(pitches))) if len(pitches) else NAN


def pitch_classes_used(score: Score) -> float:
    """The number of distinct pitch classes: |{p mod 12}| (MusPy's n_pitch_classes_used)."""
    pitches = _pitched(score).pitches
    return float(len(np.unique(pitches % 12))) if len(pitches) else NAN


def _entropy_bits(counts: np.ndarray) -> float:
    total = counts.sum()
    if total < 1:
        return NAN
    probabilities = counts[counts > 0] / total
    return float(-(probabilities * np.log2(probabilities)).sum())


def pitch_entropy(score: Score) -> float:
    """Shannon entropy of the note pitch histogram: -sum_i P(pitch=i) log2 P(pitch=i)."""
    return _entropy_bits(np.bincount(_pitched(score).pitches, minlength=128))


def pitch_class_entropy(score: Score) -> float:
    """Entropy of the pitch-class histogram: -sum_{i<12} P(pc=i) log2 P(pc=i)."""
    return _entropy_bits(np.bincount(_pitched(score).pitches % 12, minlength=12))


def pianoroll(score: Score) -> np.ndarray:
    """(T, 128) bool: which pitches sound at each grid step, non-drum notes, T = piece end."""
    track = _pitched(score)
    length = _length_steps(score)
    starts, ends = _grid(track.onsets), _grid(track.onsets + track.durations)
    keep = ends > starts
    changes = np.zeros((length + 1, 128), dtype=np.int32)
    np.add.at(changes, (starts[keep], track.pitches[keep]), 1)
    np.add.at(changes, (ends[keep], track.pitches[keep]), -1)
    return np.cumsum(changes, axis=0)[:length] > 0


def polyphony(score: Score) -> float:
    """Mean number of pitches sounding, over the time steps where at least one sounds:
    sum_t |pitches on at t| / #(t with at least one pitch on)."""
    roll = pianoroll(score)
    sounding = np.count_nonzero(roll.any(axis=1))
    return float(roll.sum() / sounding) if sounding else NAN


def polyphony_rate(score: Score, threshold: int = 2) -> float:
    """Share of time steps where at least `threshold` pitches sound:
    #(t with >= threshold pitches on) / #(t). (MusPy's formula says "multiple pitches";
    its code counts more than `threshold`, i.e. three or more; the formula is followed.)"""
    roll = pianoroll(score)
    if not len(roll):
        return NAN
    return float(np.count_nonzero(roll.sum(axis=1) >= threshold) / len(roll))


def pitch_in_scale_rate(score: Score, root: int, mode: str) -> float:
    """Share of notes whose pitch class is in the scale: #(notes in scale) / #(notes)."""
    pitches = _pitched(score).pitches
    if not len(pitches):
        return NAN
    scale = (np.array(SCALES[mode]) + root) % 12
    return float(np.isin(pitches % 12, scale).mean())


def scale_consistency(score: Score) -> float:
    """The largest pitch-in-scale rate over the 12 major and 12 minor scales:
    max_{root, mode} pitch_in_scale_rate(root, mode)."""
    pitches = _pitched(score).pitches
    if not len(pitches):
        return NAN
    histogram = np.bincount(pitches % 12, minlength=12)
    rates = [
        histogram[(np.array(SCALES[mode]) + root) % 12].sum() / len(pitches)
        for mode in MUSPY_MODES
        for root in range(12)
    ]
    return float(max(rates))


def empty_beat_rate(score: Score) -> float:
    """Share of beats (quarters [k, k+1) from time 0 to the end) where no note sounds or
    starts: #(empty beats) / #(beats). All tracks count, drums too, as in MusPy. (MusPy's code
    also marks the beat in which a note ends, even when it ends at that beat's start, and
    counts one beat more when the piece ends on a beat; the formula is followed.)"""
    track = score.merged()
    if not len(track):
        return NAN
    starts, ends = _grid(track.onsets), _grid(track.onsets + track.durations)
    first = starts // STEPS_PER_QUARTER
    last = np.maximum(first, -(-ends // STEPS_PER_QUARTER) - 1)  # the beat holding the end
    beats = int(last.max()) + 1
    changes = np.zeros(beats + 1, dtype=np.int64)
    np.add.at(changes, first, 1)
    np.add.at(changes, last + 1, -1)
    occupied = np.cumsum(changes)[:beats] > 0
    return float(1 - occupied.mean())


def measure_steps(score: Score) -> int:
    """Grid steps per measure, from the first time signature (4/4 when there is none)."""
    signature = score.time_signatures[0] if score.time_signatures else None
    quarters = 4.0 if signature is None else signature.numerator * 4 / signature.denominator
    return max(1, round(quarters * STEPS_PER_QUARTER))


def groove_consistency(score: Score) -> float:
    """1 - mean Hamming distance between the onset patterns of neighbouring measures:
    1 - 1/(M-1) * sum_i d(G_i, G_{i+1}) / R, where G_i is the binary onset vector of measure i
    (R grid steps, one for each position that has an onset) and M the number of measures up
    to the end of the piece (MusPy's code counts one more when it ends on a bar line). Uses
    the first time signature only; NaN under two measures. The value depends on R, so it
    compares only with values taken on the same grid."""
    track = score.merged()
    resolution = measure_steps(score)
    measures = -(-_length_steps(score) // resolution)  # ceiling: measures touched by sound
    if measures < 2:
        return NAN
    patterns = np.zeros((measures, resolution), dtype=bool)
    onsets = _grid(track.onsets)
    onsets = onsets[onsets < measures * resolution]
    patterns[onsets // resolution, onsets % resolution] = True
    distance = np.count_nonzero(patterns[:-1] != patterns[1:])
    return float(1 - distance / (resolution * (measures - 1)))


def token_repetition_rate(tokens: Sequence[Hashable]) -> float:
    """Share of tokens equal to the token just before them: #(i > 0: t_i = t_(i-1)) / (n - 1)."""
    if len(tokens) < 2:
        return NAN
    repeats = sum(a == b for a, b in pairwise(tokens))
    return repeats / (len(tokens) - 1)


def ngram_repetition_rate(tokens: Sequence[Hashable], n: int = 4) -> float:
    """Share of n-grams that already occurred earlier in the sequence:
    1 - #(distinct n-grams) / #(n-grams), with n - k + 1 n-grams in n tokens."""
    if n < 1:
        raise ValueError(f"n-gram size must be at least 1, got {n}")
    count = len(tokens) - n + 1
    if count < 1:
        return NAN
    distinct = {tuple(tokens[i : i + n]) for i in range(count)}
    return 1 - len(distinct) / count


SCORE_METRICS = {
    "pitch_range": pitch_range,
    "pitches_used": pitches_used,
    "pitch_classes_used": pitch_classes_used,
    "pitch_entropy": pitch_entropy,
    "pitch_class_entropy": pitch_class_entropy,
    "polyphony": polyphony,
    "polyphony_rate": polyphony_rate,
    "scale_consistency": scale_consistency,
    "empty_beat_rate": empty_beat_rate,
    "groove_consistency": groove_consistency,
}


def score_metrics(score: Score) -> dict[str, float]:
    """All score metrics of one piece, by name."""
    return {name: metric(score) for name, metric in SCORE_METRICS.items()}


def sequence_metrics(tokens: Sequence[Hashable], n: int = 4) -> dict[str, float]:
    """The repetition rates of a token (or event) sequence, by name."""
    return {
        "token_repetition_rate": token_repetition_rate(tokens),
        f"{n}gram_repetition_rate": ngram_repetition_rate(tokens, n),
    }
