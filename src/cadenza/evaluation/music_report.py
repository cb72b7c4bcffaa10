"""The judgement of `cadenza evaluate --pieces` for people: the metrics table with the voice
ranges and the copy check as text, and one histogram per figure (music-evaluation.png)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cadenza.atomic import atomic_path
from cadenza.evaluation.music import SETS
from cadenza.metrics.harmony import VOICE_NAMES
from cadenza.representations.pitch_names import PITCH_NAMES


def format_judgement(result: dict, unit: str) -> str:
    """The metrics table and the copy check as text."""
    lines = [
        f"{'metric':<24} {'training':>16} {'held-out':>16} {'generated':>16} "
        f"{'distance':>8} {'overlap':>7}"
    ]
    for metric, row in result["metrics"].items():
        cells = [f"{row[name]['mean']:>8.3f} ± {row[name]['std']:<5.3f}" for name in SETS]
        lines.append(
            f"{metric:<24} " + " ".join(f"{cell:>16}" for cell in cells)
            + f" {row['distance']:>8.2f} {row['overlap']:>7.2f}"
        )  # fmt: skip
    lines += _voice_range_lines(result.get("voice_ranges", {}))
    n = result["settings"]["ngram"]
    copy = result["copy"]
    lines += [
        "",
        f"distance = {result['distance']}",
        "",
        f"copy check against the training pieces{'':<8} {'generated':>10} {'held-out':>10}",
    ]
    for label, key, shown in (
        (f"longest shared run, median ({unit})", "longest_run_median", "{:>10.1f}"),
        (f"longest shared run, max ({unit})", "longest_run_max", "{:>10d}"),
        ("longest shared run of bars, median", "longest_bar_run_median", "{:>10.1f}"),
        ("longest shared run of bars, max", "longest_bar_run_max", "{:>10d}"),
        (f"share of {n}-grams found in training", "ngram_share_mean", "{:>10.1%}"),
    ):
        cells = " ".join(shown.format(copy[name][key]) for name in ("generated", "validation"))
        lines.append(f"{label:<46} {cells}")
    for name in ("generated", "validation"):
        found = copy[name]
        if found["longest_run_max_from"] is not None:
            lines.append(
                f"the longest: {found['longest_run_max_piece']} shares {found['longest_run_max']} "
                f"{unit} with {found['longest_run_max_from']}"
            )
    return "\n".join(lines)


def pitch_span(low: float, high: float) -> str:
    """ "C4-A5 (60-81)", or "silent" for a voice without notes."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "silent"
    return f"{PITCH_NAMES[int(low)]}-{PITCH_NAMES[int(high)]} ({low:.0f}-{high:.0f})"


def _voice_range_lines(table: dict[str, list]) -> list[str]:
    """Each voice's range (lowest-highest over the pieces) in every set that has four voices."""
    if not table:
        return []
    names = [name for name in SETS if name in table]
    lines = ["", f"{'voice range':<24} " + " ".join(f"{LABELS[name]:>16}" for name in names)]
    for number, voice in enumerate(VOICE_NAMES):
        cells = [pitch_span(*table[name][number]) for name in names]
        lines.append(f"{voice:<24} " + " ".join(f"{cell:>16}" for cell in cells))
    return lines


def plot_judgement(values: dict[str, dict[str, list]], result: dict, path: Path) -> Path:
    """One histogram per metric (training, held-out, generated) and per copy figure."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    metrics = list(result["metrics"])
    copy_figures = {
        "longest_run": "longest shared run (steps)",
        "longest_bar_run": "longest shared run (bars)",
        "ngram_share": "n-gram share",
    }
    rows = -(-(len(metrics) + len(copy_figures)) // 4)
    figure, axes = plt.subplots(rows, 4, figsize=(16, 3.2 * rows), dpi=90, squeeze=False)
    panels = iter(axes.flat)
    for metric, axis in zip(metrics, panels, strict=False):
        row = result["metrics"][metric]
        _histograms(axis, {name: values[name].get(metric, []) for name in SETS})
        axis.set_title(f"{metric}\ndistance {row['distance']:.2f}, overlap {row['overlap']:.2f}",
                       fontsize=9)  # fmt: skip
    for (key, title), axis in zip(copy_figures.items(), panels, strict=False):
        found = {name: [p[key] for p in result["copy"][name]["pieces"]] for name in SETS[1:]}
        _histograms(axis, found)
        axis.set_title(f"copy check: {title}", fontsize=9)
    for axis in panels:
        axis.axis("off")
    axes.flat[0].legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
    return path


COLORS = {"training": "0.6", "validation": "tab:blue", "generated": "tab:orange"}
LABELS = {"training": "training", "validation": "held-out", "generated": "generated"}


def _histograms(axis, sets: dict[str, list]) -> None:
    finite = {
        name: np.asarray(v, float)[np.isfinite(np.asarray(v, float))] for name, v in sets.items()
    }
    pooled = np.concatenate(list(finite.values()))
    if not len(pooled):
        return
    bins = np.histogram_bin_edges(pooled, bins=20)
    for name, data in finite.items():
        if len(data):
            filled = name == "training"
            axis.hist(
                data, bins=bins, density=True, color=COLORS[name], alpha=0.5 if filled else 1,
                histtype="stepfilled" if filled else "step", label=LABELS[name],
            )  # fmt: skip
