"""Training metrics of a run: one CSV over all attempts (resumes), and a loss-curve PNG."""

from __future__ import annotations

import csv
from pathlib import Path

from cadenza.atomic import atomic_path

COLUMNS = ("epoch", "train_loss", "val_loss")


def merge_metrics(logs: Path, target: Path, columns: tuple[str, ...] = COLUMNS) -> list[dict]:
    """One row per epoch from every attempt's metrics.csv (a resumed epoch replaces the old),
    keeping `columns` (the first is the epoch)."""
    by_epoch: dict[int, dict] = {}
    for attempt in sorted(logs.glob("attempt-*"), key=lambda p: int(p.name.split("-")[1])):
        path = attempt / "metrics.csv"
        if not path.is_file():
            continue
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                if not row.get("epoch"):
                    continue
                entry = by_epoch.setdefault(int(row["epoch"]), {"epoch": int(row["epoch"])})
                for column in columns[1:]:
                    if row.get(column):
                        entry[column] = float(row[column])
    rows = [by_epoch[epoch] for epoch in sorted(by_epoch)]
    with atomic_path(target) as temporary, temporary.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def plot_losses(rows: list[dict], target: Path) -> None:
    """Training and validation loss per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5), dpi=100)
    for column, label in (("train_loss", "training"), ("val_loss", "validation")):
        points = [(r["epoch"] + 1, r[column]) for r in rows if column in r]
        if points:
            axes.plot(*zip(*points, strict=True), marker="o", markersize=3, label=label)
    axes.set_xlabel("epoch")
    axes.set_ylabel("cross-entropy (nats per token)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    with atomic_path(target) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
