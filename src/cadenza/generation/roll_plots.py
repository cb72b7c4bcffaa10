"""Piano-roll pictures of a MuseGAN piece: one PNG per voice, the generator's output in grey
and the notes it was read as in colour, bar lines dashed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cadenza.atomic import atomic_path
from cadenza.representations.pianoroll import REST, STEPS_PER_BAR, VOICES
from cadenza.representations.pitch_names import PITCH_NAMES

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
MARGIN = 4  # pitch rows shown above and below the notes


def voice_figure(
    values: np.ndarray, voice: np.ndarray, lowest_pitch: int, title: str, colour: str = "C0"
):
    """A Figure of one voice: `values` (T, 84) output in [-1, 1], `voice` (T,) pitch indices."""
    from matplotlib.figure import Figure

    sounding = voice[voice != REST]
    low = max(int(sounding.min()) - MARGIN, 0) if len(sounding) else 0
    high = min(int(sounding.max()) + MARGIN, values.shape[1] - 1) if len(sounding) else 83
    figure = Figure(figsize=(min(max(6.0, len(voice) / 8), 24.0), 3.5), dpi=100)
    axes = figure.add_subplot()
    shown = (values[:, low : high + 1].T + 1) / 2  # (pitches, T) in [0, 1]
    extent = (0, len(voice), low - 0.5, high + 0.5)
    axes.imshow(shown, origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=1, extent=extent)
    for step in np.flatnonzero(voice != REST):
        axes.add_patch(_cell(step, int(voice[step]), colour))
    for bar in range(STEPS_PER_BAR, len(voice), STEPS_PER_BAR):
        axes.axvline(bar, color="#555555", linewidth=0.8, linestyle="--")
    rows = [r for r in range(low, high + 1) if (lowest_pitch + r) % 12 == 0]
    axes.set_yticks(rows, [PITCH_NAMES[lowest_pitch + r] for r in rows])
    axes.set_xlabel("16th-note step")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def _cell(step: int, row: int, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((step, row - 0.4), 1, 0.8, facecolor=colour, alpha=0.8, linewidth=0)


def plot_voices(values: np.ndarray, voices: np.ndarray, stem: Path, lowest_pitch: int) -> list:
    """Write `stem`-soprano.png ... `stem`-bass.png; `values` (T, 84, 4), `voices` (T, 4)."""
    written = []
    for number, name in enumerate(VOICES):
        figure = voice_figure(
            values[:, :, number], voices[:, number], lowest_pitch, name, COLOURS[number]
        )
        path = stem.with_name(f"{stem.name}-{name}.png")
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format="png")
        written.append(path)
    return written
