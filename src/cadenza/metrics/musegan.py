"""The MuseGAN paper's metrics of multi-track piano-roll phrases (Dong et al., AAAI 2018).

Every function takes a boolean roll (N, bars, steps, pitches, tracks), row 0 of the pitch
axis being MIDI pitch `lowest_pitch`, and returns one value per track (or per pair of
tracks), NaN where there is nothing to measure. A bar is one bar of one track.

- EB, empty-bar rate: #(bars with no sounding cell) / #(bars).
- UPC, used pitch classes per bar: mean over the non-empty bars of the number of pitch
  classes sounding in the bar (0..12; empty bars are what EB counts, so they are left out).
- QN, qualified-note rate: #(notes of at least 3 steps) / #(notes); a note is a run of
  consecutive sounding steps of one pitch within a phrase (it may cross the bar line).
- TD, tonal distance between two tracks (Harte et al. 2006): per bar, each track's chroma
  (sounding steps per pitch class, divided by their sum) is mapped by the 6 x 12 matrix
  Phi(d, l) = r_d sin / cos of l * (7/6, 3/2, 2/3) pi, radii (1, 1, 0.5), to a tonal
  centroid; TD is the Euclidean distance of the two centroids, averaged over the bars in
  which both tracks sound.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

QUALIFIED_STEPS = 3
RADII = (1.0, 1.0, 0.5)


def _bars(roll: np.ndarray) -> np.ndarray:
    """(N, bars, steps, pitches, tracks) -> (N * bars, steps, pitches, tracks), booleans."""
    roll = np.asarray(roll).astype(bool)
    if roll.ndim != 5:
        raise ValueError(f"a roll has shape (N, bars, steps, pitches, tracks), got {roll.shape}")
    return roll.reshape(-1, *roll.shape[2:])


def _chroma(bars: np.ndarray, lowest_pitch: int) -> np.ndarray:
    """(B, steps, pitches, tracks) -> sounding steps per pitch class, (B, 12, tracks)."""
    per_pitch = bars.sum(axis=1, dtype=np.float64)  # (B, pitches, tracks)
    classes = (lowest_pitch + np.arange(per_pitch.shape[1])) % 12
    folding = np.eye(12)[classes]  # (pitches, 12): which class each pitch row is
    return np.einsum("bpt,pc->bct", per_pitch, folding)


def empty_bar_rate(roll: np.ndarray) -> np.ndarray:
    """EB per track: the share of bars in which the track sounds nothing."""
    bars = _bars(roll)
    if not len(bars):
        return np.full(bars.shape[-1], np.nan)
    return (~bars.any(axis=(1, 2))).mean(axis=0)


def used_pitch_classes(roll: np.ndarray, lowest_pitch: int = 24) -> np.ndarray:
    """UPC per track: pitch classes used per non-empty bar, on average."""
    bars = _bars(roll)
    used = (_chroma(bars, lowest_pitch) > 0).sum(axis=1).astype(float)  # (B, tracks)
    sounding = bars.any(axis=(1, 2))
    totals, counts = np.where(sounding, used, 0).sum(axis=0), sounding.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, totals / counts, np.nan)


def qualified_note_rate(roll: np.ndarray, min_steps: int = QUALIFIED_STEPS) -> np.ndarray:
    """QN per track: the share of notes that last at least `min_steps` steps."""
    roll = np.asarray(roll).astype(bool)
    phrases = roll.reshape(roll.shape[0], -1, *roll.shape[3:])  # (N, time, pitches, tracks)
    padded = np.pad(phrases, ((0, 0), (1, 1), (0, 0), (0, 0))).astype(np.int8)
    edges = np.diff(padded, axis=1)  # +1 where a note starts, -1 just after it ends
    rates = []
    for track in range(roll.shape[-1]):
        # Moving the time axis last makes the starts and ends of each (phrase, pitch) pair
        # come out of `nonzero` in matching order.
        starts = np.flatnonzero(np.moveaxis(edges[..., track], 1, -1) > 0)
        ends = np.flatnonzero(np.moveaxis(edges[..., track], 1, -1) < 0)
        qualified = np.count_nonzero(ends - starts >= min_steps)
        rates.append(qualified / len(starts) if len(starts) else np.nan)
    return np.array(rates)


def tonal_matrix(radii: tuple[float, float, float] = RADII) -> np.ndarray:
    """Harte's 6 x 12 map from chroma to the tonal centroid (fifths, minor and major thirds)."""
    classes = np.arange(12)
    rows = []
    for radius, angle in zip(radii, (7 / 6, 3 / 2, 2 / 3), strict=True):
        rows += [radius * np.sin(classes * angle * np.pi), radius * np.cos(classes * angle * np.pi)]
    return np.array(rows)


def tonal_distance(roll: np.ndarray, lowest_pitch: int = 24) -> dict[tuple[int, int], float]:
    """TD for every pair of tracks (i, j), i < j: the mean distance of their tonal centroids
    over the bars in which both sound."""
    bars = _bars(roll)
    chroma = _chroma(bars, lowest_pitch)  # (B, 12, tracks)
    totals = chroma.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroids = np.einsum("dl,blt->bdt", tonal_matrix(), chroma / totals)  # (B, 6, tracks)
    distances = {}
    for first, second in combinations(range(bars.shape[-1]), 2):
        both = (totals[:, 0, first] > 0) & (totals[:, 0, second] > 0)
        gaps = np.linalg.norm(centroids[both, :, first] - centroids[both, :, second], axis=1)
        distances[(first, second)] = float(gaps.mean()) if both.any() else np.nan
    return distances


def musegan_metrics(roll: np.ndarray, lowest_pitch: int = 24) -> dict:
    """EB, UPC, QN (each averaged over the tracks) and TD (over the pairs), with the values
    per track and per pair."""
    per_track = {
        "EB": empty_bar_rate(roll),
        "UPC": used_pitch_classes(roll, lowest_pitch),
        "QN": qualified_note_rate(roll),
    }
    pairs = tonal_distance(roll, lowest_pitch)
    summary = {name: _mean(values) for name, values in per_track.items()}
    summary["TD"] = _mean(np.array(list(pairs.values())))
    summary["per_track"] = {name: values.tolist() for name, values in per_track.items()}
    summary["per_pair"] = {f"{i}-{j}": value for (i, j), value in pairs.items()}
    return summary


def _mean(values: np.ndarray) -> float:
    """The mean of the values that are not NaN; NaN when none is."""
    known = values[~np.isnan(values)]
    return float(known.mean()) if len(known) else float("nan")
