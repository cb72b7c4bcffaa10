"""Pictures of a generation: predicted pitch probabilities, and where attention looked."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cadenza.atomic import atomic_path
from cadenza.generation.events import EventTrace

SHOWN_PITCHES = 40  # the pitch tokens that were ever most likely, as rows


def _save(figure, path: Path) -> Path:
    from matplotlib import pyplot as plt

    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
    return path


def attention_matrix(trace: EventTrace) -> np.ndarray:
    """(generated steps, all steps) weights: row i is what prediction i attended to."""
    steps = len(trace.attention)
    total = trace.primer_steps + steps - 1  # the last event was never read back
    matrix = np.zeros((steps, total))
    for row, weights in enumerate(trace.attention):
        query = trace.primer_steps - 1 + row  # the step whose output made prediction `row`
        keys = len(weights)
        matrix[row, query - keys + 1 : query + 1] = weights
    return matrix


def plot_generation(trace: EventTrace, stem: Path) -> list[Path]:
    """Write `stem`-pitch-probabilities.png and `stem`-attention.png; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    probabilities = np.stack(trace.probabilities, axis=1)  # (Vp, steps)
    rows = np.argsort(-probabilities.max(axis=1))[:SHOWN_PITCHES]
    rows = rows[np.argsort([trace.pitch_tokens[r] for r in rows])]
    figure, axes = plt.subplots(figsize=(10, 6), dpi=100)
    image = axes.imshow(probabilities[rows], aspect="auto", cmap="viridis", origin="lower")
    axes.set_yticks(range(len(rows)), [trace.pitch_tokens[r] for r in rows], fontsize=6)
    axes.set_xlabel("generated step")
    axes.set_title("predicted pitch probabilities")
    figure.colorbar(image, ax=axes)
    written = [_save(figure, stem.with_name(f"{stem.name}-pitch-probabilities.png"))]

    figure, axes = plt.subplots(figsize=(10, 6), dpi=100)
    image = axes.imshow(attention_matrix(trace), aspect="auto", cmap="magma", origin="lower")
    axes.axvline(trace.primer_steps - 0.5, color="white", linewidth=0.8)
    axes.set_xlabel("step attended to (primer left of the line)")
    axes.set_ylabel("generated step")
    axes.set_title("attention")
    figure.colorbar(image, ax=axes)
    written.append(_save(figure, stem.with_name(f"{stem.name}-attention.png")))
    return written
