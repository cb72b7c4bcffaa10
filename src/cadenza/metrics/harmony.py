"""Harmony metrics of one piece: chord tones, complete chords, and four-part voice leading.

Every metric reads the piece on a grid of samples, one each `step` quarters (0.5: an eighth
note): the pitches sounding at time k * step are those of the notes with onset <= k * step <
onset + duration, for k = 0, 1, ... while k * step < the end of the piece. A note that starts
and stops between two samples is not seen. Drum tracks are ignored.

A pitch-class set is held as a 12-bit mask (bit p set when pitch class p sounds). The masks
of the allowed chords are computed once, as two lookup tables over all 4096 masks, so that a
piece of any length is judged with one indexing operation.

Four-voice metrics read each voice (a track, soprano first, bass last) as one pitch per
sample, or silence; a voice sounding several pitches at once counts as its highest (the
lowest voice as its lowest), as the piano roll of four voices reads them.

Every metric returns NaN when the piece holds nothing it can measure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

import numpy as np

from cadenza.music.score import Score, Track

NAN = math.nan
EPSILON = 1e-6  # in samples: onsets read from MIDI ticks land a rounding error off the grid
FOUR_VOICES = 4
VOICE_NAMES = ("soprano", "alto", "tenor", "bass")  # the parts of four-voice music, by track
PITCH_CLASS_BITS = 1 << np.arange(12)

CHORD_QUALITIES = {  # intervals above the root, in semitones
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "diminished": (0, 3, 6),
    "augmented": (0, 4, 8),
    "dominant seventh": (0, 4, 7, 10),
    "major seventh": (0, 4, 7, 11),
    "minor seventh": (0, 3, 7, 10),
    "half-diminished seventh": (0, 3, 6, 10),
    "diminished seventh": (0, 3, 6, 9),
}


def pitch_class_mask(pitch_classes: Sequence[int]) -> int:
    """The 12-bit mask of a set of pitch classes: sum of 2^p over the distinct p mod 12."""
    return sum(1 << p for p in {int(p) % 12 for p in pitch_classes})


def _chord_tables() -> tuple[np.ndarray, np.ndarray]:
    """(4096,) bool each: mask is a subset of some chord; mask is exactly a complete chord."""
    chords = {
        pitch_class_mask([root + interval for interval in intervals])
        for intervals in CHORD_QUALITIES.values()
        for root in range(12)
    }
    masks = np.arange(4096)
    complete = np.zeros(4096, dtype=bool)
    complete[sorted(chords)] = True
    within = np.zeros(4096, dtype=bool)
    for chord in chords:
        within |= (masks & ~chord) == 0
    return within, complete


WITHIN_CHORD, COMPLETE_CHORD = _chord_tables()
PITCH_CLASS_COUNT = ((np.arange(4096)[:, None] & PITCH_CLASS_BITS) > 0).sum(axis=1)  # per mask


def _check_step(step: float) -> None:
    if not step > 0:
        raise ValueError(f"sampling step must be more than 0 quarters, got {step}")


def _sample_count(tracks: Sequence[Track], step: float) -> int:
    """Samples k * step before the end of the last note of `tracks`."""
    end = max((track.end for track in tracks), default=0.0)
    return max(0, math.ceil(end / step - EPSILON))


def sounding(track: Track, samples: int, step: float) -> np.ndarray:
    """(samples, 128) bool: which pitches of `track` sound at each sample time k * step."""
    first = np.ceil(track.onsets / step - EPSILON).astype(np.int64)
    stop = np.ceil((track.onsets + track.durations) / step - EPSILON).astype(np.int64)
    first, stop = np.clip(first, 0, samples), np.clip(stop, 0, samples)
    keep = stop > first  # notes that cover at least one sample
    changes = np.zeros((samples + 1, 128), dtype=np.int32)
    np.add.at(changes, (first[keep], track.pitches[keep]), 1)
    np.add.at(changes, (stop[keep], track.pitches[keep]), -1)
    return np.cumsum(changes, axis=0)[:samples] > 0


def pitch_class_masks(score: Score, step: float = 0.5) -> np.ndarray:
    """(samples,) int: the 12-bit pitch-class mask of each sample, non-drum tracks."""
    _check_step(step)
    tracks = [track for track in score.tracks if not track.is_drum]
    samples = _sample_count(tracks, step)
    roll = np.zeros((samples, 132), dtype=bool)  # 11 octaves of 12, the top 4 never sound
    for track in tracks:
        roll[:, :128] |= sounding(track, samples, step)
    classes = roll.reshape(samples, 11, 12).any(axis=1)  # (samples, 12)
    return classes.astype(np.int64) @ PITCH_CLASS_BITS


def _chordal(score: Score, step: float) -> np.ndarray:
    """The masks of the samples with at least 2 distinct pitch classes."""
    masks = pitch_class_masks(score, step)
    return masks[PITCH_CLASS_COUNT[masks] >= 2]


def chord_tone_share(score: Score, step: float = 0.5) -> float:
    """Share of the samples with 2 or more pitch classes whose pitch-class set lies within a
    triad (major, minor, diminished, augmented) or seventh chord (dominant, major, minor,
    half-diminished, diminished) on some root: #(S_t within a chord) / #(t: |S_t| >= 2).
    Samples of silence or of one pitch class (a unison, octaves) are skipped: they hold no
    harmony to judge. Every two-note set lies within one of these chords, so the share falls
    only at three pitch classes or more."""
    masks = _chordal(score, step)
    return float(WITHIN_CHORD[masks].mean()) if len(masks) else NAN


def complete_chord_share(score: Score, step: float = 0.5) -> float:
    """Share of the samples with 2 or more pitch classes whose pitch-class set is exactly a
    complete triad or seventh chord of those qualities: #(S_t a chord) / #(t: |S_t| >= 2)."""
    masks = _chordal(score, step)
    return float(COMPLETE_CHORD[masks].mean()) if len(masks) else NAN


def voice_tracks(score: Score, voices: Sequence[int] | None = None) -> list[Track]:
    """The voices, highest part first: the tracks `voices` names, else all tracks of a score
    with exactly four."""
    if voices is None:
        if len(score.tracks) != FOUR_VOICES:
            raise ValueError(
                f"four-voice metrics need a score of 4 tracks (or voices=), got {len(score.tracks)}"
            )
        return list(score.tracks)
    if len(voices) < 2 or not all(0 <= v < len(score.tracks) for v in voices):
        raise ValueError(f"voices must be 2 or more of the tracks 0..{len(score.tracks) - 1}, "
                         f"got {list(voices)}")  # fmt: skip
    return [score.tracks[v] for v in voices]


def voice_pitches(
    score: Score, step: float = 0.5, voices: Sequence[int] | None = None
) -> np.ndarray:
    """(samples, V) int: the pitch of each voice at each sample, -1 where it is silent."""
    _check_step(step)
    tracks = voice_tracks(score, voices)
    samples = _sample_count(tracks, step)
    columns = []
    for number, track in enumerate(tracks):
        roll = sounding(track, samples, step)
        lowest = number == len(tracks) - 1
        pitch = np.argmax(roll, axis=1) if lowest else 127 - np.argmax(roll[:, ::-1], axis=1)
        columns.append(np.where(roll.any(axis=1), pitch, -1))
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0), np.int64)


def parallel_motion_rate(
    score: Score,
    step: float = 0.5,
    voices: Sequence[int] | None = None,
    intervals: Sequence[int] = (0, 7),
) -> float:
    """Parallel perfect fifths and octaves per 100 voice movements:
    100 * #(pairs of voices, samples t -> t+1: both move in the same direction and
    |p_a - p_b| mod 12 is the same interval of `intervals` before and after) / #movements.
    A movement is one voice sounding a different pitch at t+1 than at t (silence on either
    side is none). Intervals are read mod 12: compound fifths and octaves count, unisons count
    as octaves; `intervals=(7,)` counts fifths only, `(0,)` octaves only."""
    if not all(0 <= interval < 12 for interval in intervals):
        raise ValueError(f"intervals must be pitch-class intervals 0..11, got {list(intervals)}")
    pitches = voice_pitches(score, step, voices)
    before, after = pitches[:-1], pitches[1:]  # (samples - 1, V) each
    moved = (before >= 0) & (after >= 0) & (before != after)
    movements = int(moved.sum())
    if not movements:
        return NAN
    direction = np.sign(after - before)
    parallels = 0
    for a, b in combinations(range(pitches.shape[1]), 2):
        together = moved[:, a] & moved[:, b] & (direction[:, a] == direction[:, b])
        first = np.abs(before[:, a] - before[:, b]) % 12
        second = np.abs(after[:, a] - after[:, b]) % 12
        parallels += int((together & (first == second) & np.isin(first, intervals)).sum())
    return 100 * parallels / movements


def voice_crossing_rate(
    score: Score, step: float = 0.5, voices: Sequence[int] | None = None
) -> float:
    """Share of the samples where two or more voices sound in which a lower part sounds above
    a higher one: #(t: p_b(t) > p_a(t) for some a above b in part order) / #(t: 2+ voices)."""
    pitches = voice_pitches(score, step, voices)
    crossed = np.zeros(len(pitches), dtype=bool)
    counted = np.zeros(len(pitches), dtype=bool)
    for a, b in combinations(range(pitches.shape[1]), 2):
        both = (pitches[:, a] >= 0) & (pitches[:, b] >= 0)
        crossed |= both & (pitches[:, b] > pitches[:, a])
        counted |= both
    return float(crossed.sum() / counted.sum()) if counted.any() else NAN


def voice_ranges(score: Score, voices: Sequence[int] | None = None) -> list[tuple[float, float]]:
    """(lowest, highest) MIDI pitch of each voice's notes, highest part first; (NaN, NaN)
    for a voice without notes."""
    return [
        (float(t.pitches.min()), float(t.pitches.max())) if len(t) else (NAN, NAN)
        for t in voice_tracks(score, voices)
    ]


def harmony_metrics(score: Score, step: float = 0.5) -> dict[str, float]:
    """The harmony metrics of one piece by name; the voice-leading ones only for a score of
    exactly four tracks."""
    metrics = {
        "chord_tone_share": chord_tone_share(score, step),
        "complete_chord_share": complete_chord_share(score, step),
    }
    if len(score.tracks) == FOUR_VOICES:
        metrics["parallel_motion_rate"] = parallel_motion_rate(score, step)
        metrics["voice_crossing_rate"] = voice_crossing_rate(score, step)
    return metrics
