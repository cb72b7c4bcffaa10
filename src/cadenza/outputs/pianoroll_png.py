"""A piano-roll picture: one bar per note, time (quarters) across, pitch up, one colour a track.

Drawn with matplotlib's object API (a `Figure` and an Agg canvas, no pyplot), which keeps no
global state, so several requests of a web server can draw at once. A piece of more notes than
a picture can show (a two-hour MIDI file of 300,000 notes) is drawn as an image of
ROLL_COLUMNS time columns instead of one shape per note: a matplotlib shape costs about 0.5 KB,
the image a fixed few MB, whatever the number of notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cadenza.atomic import atomic_path
from cadenza.music.score import Score, Track

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MOST_NOTE_SHAPES = 20_000  # above this many notes, the roll is drawn as an image
ROLL_COLUMNS = 2400  # time columns of that image: twice the picture's 1200 pixels


def piano_roll_figure(score: Score, title: str = "", given: Sequence[np.ndarray] | None = None):
    """A matplotlib Figure of the score's notes (drum tracks in grey); `given`, one boolean
    per note of each of the score's tracks, draws those notes pale with an outline, apart
    from the composed ones (in the note shapes; the image of a huge piece shows all alike)."""
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgba
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 5), dpi=100)
    axes = figure.add_subplot()
    marks = list(given) if given is not None else [np.zeros(len(t), bool) for t in score.tracks]
    pitched_marks = [mark for track, mark in zip(score.tracks, marks, strict=True) if len(track)]
    pitched = [track for track in score.tracks if len(track)]
    colours = [_colour(track, number) for number, track in enumerate(pitched)]
    labels = [track.name or f"track {number + 1}" for number, track in enumerate(pitched)]
    if score.note_count > MOST_NOTE_SHAPES:
        _draw_image(axes, score, pitched, colours, labels)
    else:
        for track, mark, colour, label in zip(pitched, pitched_marks, colours, labels, strict=True):
            rectangles = note_rectangles(track)
            if (~mark).any():
                bars = PolyCollection(  # one collection, not a Rectangle per note: 10x faster
                    rectangles[~mark], facecolors=colour, alpha=0.85, linewidths=0, label=label
                )
                axes.add_collection(bars)
            if mark.any():
                kept = PolyCollection(
                    rectangles[mark], facecolors=to_rgba(colour, 0.25), edgecolors=colour,
                    linewidths=1.0, label=f"{label} (given)",
                )  # fmt: skip
                axes.add_collection(kept)
    low, high = _pitch_range(score)
    axes.set_ylim(low - 1.5, high + 1.5)
    axes.set_xlim(0, max(score.end, 1.0))
    octaves = [pitch for pitch in range(low - 1, high + 2) if pitch % 12 == 0]
    axes.set_yticks(octaves, [f"C{pitch // 12 - 1}" for pitch in octaves])
    _measure_lines(axes, score)
    axes.set_xlabel("time (quarter notes)")
    axes.set_ylabel("pitch")
    axes.set_title(title or score.title or "piano roll")
    shown_given = any(mark.any() for mark in pitched_marks)
    if (len(pitched) > 1 or shown_given) and score.note_count <= MOST_NOTE_SHAPES:
        axes.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    return figure


def _colour(track: Track, number: int) -> str:
    return "#7f7f7f" if track.is_drum else COLOURS[number % len(COLOURS)]


def _draw_image(axes, score: Score, tracks: list[Track], colours: list[str], labels) -> None:
    """The notes as an RGBA image of (pitches, ROLL_COLUMNS); later tracks paint over earlier."""
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    low, high = _pitch_range(score)
    end = max(score.end, 1.0)
    image = np.ones((high - low + 1, ROLL_COLUMNS, 4), np.float32)  # white paper
    for track, colour in zip(tracks, colours, strict=True):
        image[roll_coverage(track, low, high, end)] = to_rgba(colour, 0.85)
    axes.imshow(image, origin="lower", aspect="auto", interpolation="nearest",
                extent=(0.0, end, low - 0.5, high + 0.5))  # fmt: skip
    pairs = zip(colours, labels, strict=True)
    handles = [Patch(color=colour, label=label) for colour, label in pairs]
    if len(handles) > 1:
        axes.legend(handles=handles, loc="upper right", fontsize=8)


def roll_coverage(track: Track, low: int, high: int, end: float) -> np.ndarray:
    """(high - low + 1, ROLL_COLUMNS) bools: which time columns each pitch sounds in; a note
    shorter than a column still marks the column it starts in."""
    width = end / ROLL_COLUMNS  # quarters per column
    first = np.clip((track.onsets / width).astype(np.int64), 0, ROLL_COLUMNS - 1)
    last = np.clip(np.ceil((track.onsets + track.durations) / width).astype(np.int64) - 1,
                   first, ROLL_COLUMNS - 1)  # fmt: skip
    rows = track.pitches.astype(np.int64) - low
    changes = np.zeros((high - low + 1, ROLL_COLUMNS + 1), np.int32)  # +1 at a start, -1 after
    np.add.at(changes, (rows, first), 1)
    np.add.at(changes, (rows, last + 1), -1)
    return np.cumsum(changes, axis=1)[:, :ROLL_COLUMNS] > 0


def note_rectangles(track: Track) -> np.ndarray:
    """(N, 4, 2) corners of each note's bar: onset to onset + duration, pitch +- 0.4."""
    start, end = track.onsets, track.onsets + track.durations
    low, high = track.pitches - 0.4, track.pitches + 0.4
    return np.stack([np.stack(corner, axis=1) for corner in
                     ((start, low), (end, low), (end, high), (start, high))], axis=1)  # fmt: skip


def _pitch_range(score: Score) -> tuple[int, int]:
    pitches = [int(p) for track in score.tracks for p in (track.pitches.min(), track.pitches.max())
               if len(track)]  # fmt: skip
    return (min(pitches), max(pitches)) if pitches else (60, 72)


def _measure_lines(axes, score: Score) -> None:
    """Faint vertical lines at each bar line of the first time signature (4/4 when none)."""
    meter = score.time_signatures[0] if score.time_signatures else None
    bar = meter.numerator * 4 / meter.denominator if meter else 4.0
    if score.end / bar > 200:  # too many to see
        return
    time = bar
    while time < score.end:
        axes.axvline(time, color="#cccccc", linewidth=0.6, zorder=0)
        time += bar


def write_piano_roll(
    score: Score, path: Path, title: str = "", given: Sequence[np.ndarray] | None = None
) -> Path:
    """Write the piano-roll PNG atomically (`given`: as for `piano_roll_figure`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = piano_roll_figure(score, title, given)
    FigureCanvasAgg(figure)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    return path
