"""The end of a MuseGAN run: the bundle (last generator, training phrases), metrics and plot."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from cadenza.atomic import atomic_path
from cadenza.bundle import bundle_config, save_bundle
from cadenza.corpus.phrase_store import PhraseCorpus
from cadenza.representations.pianoroll import PITCHES, REST
from cadenza.training.loss_log import merge_metrics
from cadenza.training.run import TrainConfig

COLUMNS = ("epoch", "critic_loss", "generator_loss", "gradient_penalty", "wasserstein_distance")


def export_gan(
    run: Path, corpus: PhraseCorpus, config: TrainConfig, model_config: dict, task, summary: dict
) -> None:
    """Write the bundle from the generator's current (last) weights, plus metrics.csv and
    loss.png. The training phrases go into the bundle as its primers, int8 (N, 2, 16, 4), for
    the nearest-phrase check of `generate` and the training-data column of `evaluate`."""
    weights = {k: v.detach().cpu() for k, v in task.generator.state_dict().items()}
    indices = corpus.phrase_indices("train")
    phrases = np.ascontiguousarray(corpus.phrases[indices], dtype=np.int8)
    sources = corpus.phrase_sources(indices)
    titles = sorted({title for title, _ in sources})
    number = {title: i for i, title in enumerate(titles)}
    # The "token counts" of a roll: sounding steps per pitch.
    counts = np.bincount(phrases[phrases != REST].astype(np.int64), minlength=PITCHES)
    record = {"path": str(corpus.folder), "hash": corpus.manifest["corpus_hash"]}
    sources_by_piece = {
        "titles": titles,
        "piece": [number[title] for title, _ in sources],
        "first_bar": [bar for _, bar in sources],
    }
    config_json = bundle_config(
        config, model_config, corpus.vocabulary, record, summary, counts,
        gan=asdict(task.settings), phrase_sources=sources_by_piece,
    )  # fmt: skip
    rows = merge_metrics(run / "logs", run / "metrics.csv", COLUMNS)
    if rows:
        summary["last_epoch"] = {k: v for k, v in rows[-1].items() if k != "epoch"}
    save_bundle(run, weights, config_json, corpus.vocabulary, torch.from_numpy(phrases))
    plot_gan_losses(rows, run / "loss.png")


def plot_gan_losses(rows: list[dict], target: Path) -> None:
    """The critic's estimate of the Wasserstein distance, the losses and the penalty per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.5), dpi=100)
    for column in COLUMNS[1:]:
        points = [(r["epoch"] + 1, r[column]) for r in rows if column in r]
        panel = axes[1] if column == "gradient_penalty" else axes[0]
        if points:
            panel.plot(*zip(*points, strict=True), label=column.replace("_", " "))
    for panel in axes:
        panel.set_xlabel("epoch")
        panel.grid(alpha=0.3)
        panel.legend()
    axes[0].set_title("WGAN-GP losses")
    axes[1].set_title("gradient penalty")
    figure.tight_layout()
    with atomic_path(target) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
