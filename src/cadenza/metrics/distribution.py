"""Comparing the values of one metric over two sets of pieces (generated against training)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

GRID_POINTS = 512


def _finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array[np.isfinite(array)]


def summary(values: Sequence[float]) -> dict[str, float]:
    """Mean, standard deviation (population) and count of the finite values (NaN skipped)."""
    finite = _finite(values)
    if not len(finite):
        return {"mean": math.nan, "std": math.nan, "count": 0}
    return {"mean": float(finite.mean()), "std": float(finite.std()), "count": len(finite)}


def standardized_distance(values: Sequence[float], reference: Sequence[float]) -> float:
    """|mean(values) - mean(reference)| / std(reference): how many of the reference's standard
    deviations apart the two means are (0 when equal, inf when the reference never varies)."""
    ours, theirs = summary(values), summary(reference)
    difference = abs(ours["mean"] - theirs["mean"])
    if math.isnan(difference):
        return math.nan
    if theirs["std"] == 0:
        return 0.0 if difference == 0 else math.inf
    return difference / theirs["std"]


def _density(values: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian kernel density estimate of `values` on `grid`."""
    z = (grid[:, None] - values[None, :]) / bandwidth  # (G, N)
    return np.exp(-0.5 * z**2).sum(axis=1) / (len(values) * bandwidth * math.sqrt(2 * math.pi))


def overlap_area(values: Sequence[float], reference: Sequence[float]) -> float:
    """The area shared by the two sets' densities, integral of min(f, g): 1 for identical
    distributions, 0 for disjoint ones. Densities are Gaussian kernel estimates with Scott's
    bandwidth (std * n^(-1/5)), at least 1% of the pooled range; NaN when a set is empty."""
    ours, theirs = _finite(values), _finite(reference)
    if not len(ours) or not len(theirs):
        return math.nan
    pooled = np.concatenate([ours, theirs])
    spread = float(pooled.max() - pooled.min())
    if spread == 0:
        return 1.0  # every value of both sets is the same number
    bandwidths = [
        max(float(s.std()) * len(s) ** -0.2, spread / 100) for s in (ours, theirs)
    ]  # fmt: skip
    margin = 4 * max(bandwidths)
    grid = np.linspace(pooled.min() - margin, pooled.max() + margin, GRID_POINTS)
    shared = np.minimum(
        _density(ours, grid, bandwidths[0]), _density(theirs, grid, bandwidths[1])
    )  # (G,)
    area = float(((shared[1:] + shared[:-1]) / 2 * np.diff(grid)).sum())  # trapezoids
    return min(1.0, area)
