"""Scales and tonic triads as pitch classes above the tonic (0 = the tonic itself)."""

from __future__ import annotations

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),  # natural minor
    "harmonic-minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic-minor": (0, 2, 3, 5, 7, 9, 11),  # ascending form
    "major-pentatonic": (0, 2, 4, 7, 9),
    "minor-pentatonic": (0, 3, 5, 7, 10),
}
MAJOR_TRIAD, MINOR_TRIAD = (0, 4, 7), (0, 3, 7)


def scale_pitch_classes(tonic: int, scale: str) -> frozenset[int]:
    """The pitch classes of `scale` on the tonic pitch class `tonic`."""
    return frozenset((tonic + step) % 12 for step in SCALES[scale])
