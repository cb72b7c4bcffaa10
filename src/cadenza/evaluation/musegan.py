"""`cadenza evaluate` for a musegan run: the MuseGAN metrics of generated phrases next to the
training data's, and how far each generated phrase is from the nearest training phrase."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from cadenza.atomic import write_text_atomic
from cadenza.bundle import Bundle, load_bundle
from cadenza.errors import CadenzaError
from cadenza.generation.compose import check_seed
from cadenza.generation.phrase_generation import binarize, generate_values, nearest_phrases
from cadenza.metrics.musegan import musegan_metrics
from cadenza.models.musegan import sample_noise
from cadenza.representations.pianoroll import VOICES, voices_to_roll

METRICS = {
    "EB": "empty bars (EB)",
    "UPC": "used pitch classes per bar (UPC)",
    "QN": "qualified notes, >= 3 steps (QN)",
    "TD": "tonal distance between voices (TD)",
}
BATCH = 250


def generate_phrases(bundle: Bundle, count: int, seed: int) -> np.ndarray:
    """`count` phrases from fresh noise, as voice grids (count, bars, steps, 4)."""
    generator = torch.Generator().manual_seed(seed)
    config = bundle.model.config
    parts = []
    for start in range(0, count, BATCH):
        noise = sample_noise(config, min(BATCH, count - start), generator)
        parts.append(binarize(generate_values(bundle.model, noise)))
    return np.concatenate(parts)


def nearest_shares(generated: np.ndarray, training: np.ndarray) -> np.ndarray:
    """For each generated phrase, the share of its voice-steps that differ from the nearest
    training phrase (0: a copy)."""
    cells = int(np.prod(generated.shape[1:]))
    starts = range(0, len(generated), 64)  # 64 at a time: (64, N, cells) comparisons
    differing = [nearest_phrases(generated[i : i + 64], training)[1] for i in starts]
    return np.concatenate(differing) / cells


def evaluate_musegan(
    run: str | Path, phrases: int = 1000, seed: int = 0, output: str | Path | None = None
) -> dict:
    """Metrics of `phrases` generated phrases and of the training phrases (the bundle's own,
    so no corpus is needed); written to `output` (default: RUN) as evaluation.json too."""
    check_seed(seed)
    if phrases < 1:
        raise CadenzaError(f"--phrases must be at least 1, got {phrases}")
    bundle = load_bundle(run)
    lowest = int(bundle.run_config.representation_settings["lowest_pitch"])
    training = bundle.primers.numpy().astype(np.int8)  # (N, bars, steps, 4)
    generated = generate_phrases(bundle, phrases, seed)
    shares = nearest_shares(generated, training)
    result = {
        "phrases": phrases,
        "seed": seed,
        "training_phrases": len(training),
        "generated": musegan_metrics(voices_to_roll(generated), lowest),
        "training": musegan_metrics(voices_to_roll(training), lowest),
        "nearest_training_phrase": {
            "mean_share_differing": float(shares.mean()),
            "least_share_differing": float(shares.min()),
            "copies": int(np.sum(shares == 0)),
        },
    }
    result["relative_difference"] = {
        name: _relative(result["generated"][name], result["training"][name]) for name in METRICS
    }
    output = Path(output or run)
    output.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output / "evaluation.json", json.dumps(result, indent=1))
    return result


def _relative(generated: float, training: float) -> float | None:
    """(generated - training) / training; None where the training value is 0."""
    if training == 0 or math.isnan(training) or math.isnan(generated):
        return None
    return (generated - training) / training


def _value(name: str, value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.1%}" if name in ("EB", "QN") else f"{value:.3f}"


def format_musegan_evaluation(result: dict) -> str:
    """The metrics side by side, per voice, and the nearest-phrase check."""
    lines = [
        f"{result['phrases']} generated phrases against {result['training_phrases']} "
        "training phrases (MuseGAN metrics)",
        "",
        f"  {'metric':<36}{'generated':>10}{'training':>10}{'difference':>12}",
    ]
    for name, label in METRICS.items():
        relative = result["relative_difference"][name]
        shown = f"{relative:+.0%}" if relative is not None else "n/a"
        lines.append(
            f"  {label:<36}{_value(name, result['generated'][name]):>10}"
            f"{_value(name, result['training'][name]):>10}{shown:>12}"
        )
    lines += ["", "  per voice (generated / training):"]
    for name in ("EB", "UPC", "QN"):
        cells = [
            f"{voice} {_value(name, g)} / {_value(name, t)}"
            for voice, g, t in zip(
                VOICES,
                result["generated"]["per_track"][name],
                result["training"]["per_track"][name],
                strict=True,
            )
        ]
        lines.append(f"    {name:<4}" + ", ".join(cells))
    nearest = result["nearest_training_phrase"]
    lines += [
        "",
        f"  nearest training phrase: on average {nearest['mean_share_differing']:.0%} of the "
        f"voice-steps differ (least {nearest['least_share_differing']:.0%}); "
        f"{nearest['copies']} exact copies",
    ]
    return "\n".join(lines)
