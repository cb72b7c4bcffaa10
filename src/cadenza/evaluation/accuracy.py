"""`cadenza evaluate`: teacher-forced and free-running accuracy on the validation pieces.

Windows of the validation split are cut into a primer and a continuation. Teacher-forced:
every step is predicted from the true steps before it (loss, perplexity, accuracy).
Free-running: after the primer the model is fed its own greedy predictions, and each step
is compared with the real continuation, which shows how far generation drifts.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from cadenza.atomic import write_text_atomic
from cadenza.bundle import Bundle, load_bundle
from cadenza.corpus.store import describe_validation
from cadenza.errors import CadenzaError
from cadenza.evaluation.corpus import open_run_corpus
from cadenza.generation.generate import without_onednn
from cadenza.models import model_kind
from cadenza.representations.pitch_duration import pair_lookup
from cadenza.training.data import SplitStream

REPORTED_STEPS = (1, 2, 4, 8, 16, 32, 64)


def _heads(logits) -> list[torch.Tensor]:
    return list(logits) if isinstance(logits, tuple) else [logits]


def _targets(tokens: torch.Tensor) -> list[torch.Tensor]:
    return [tokens[..., i] for i in range(tokens.shape[-1])] if tokens.dim() == 3 else [tokens]


@torch.inference_mode()
def evaluate_run(
    run: str | Path, corpus_folder: str | Path | None = None, primer: int = 32, horizon: int = 32,
    windows: int = 128, output: str | Path | None = None,
) -> dict:  # fmt: skip
    """Teacher-forced loss/accuracy and free-running accuracy per step, as a dict; written to
    `output` (default: the run folder) as evaluation.json."""
    if primer < 1 or horizon < 1 or windows < 1:
        raise CadenzaError("--primer, --horizon and --windows must be at least 1")
    bundle = load_bundle(run)
    corpus = open_run_corpus(bundle, corpus_folder, need_training=False)
    kind = model_kind(bundle.run_config.model_name)
    lookup = pair_lookup(corpus.vocabulary.tokens) if kind.pairs else None
    stream = SplitStream(corpus, "validation", primer + horizon, kind.tokens_per_step, lookup)
    count = min(windows, stream.length // (primer + horizon + 1))
    if count < 1:
        raise CadenzaError(
            f"{corpus.folder}: the validation pieces ({stream.length} steps) are shorter than one "
            f"window of --primer {primer} + --horizon {horizon} steps"
        )
    pairs = [stream[i * (primer + horizon)] for i in range(count)]
    inputs = torch.stack([p[0] for p in pairs])  # (N, P + H) or (N, P + H, 2)
    targets = torch.stack([p[1] for p in pairs])
    with without_onednn():
        forced = _teacher_forced(bundle, inputs, targets)
        free = _free_running(bundle, inputs[:, :primer], targets[:, primer - 1 :], horizon)
    forced_steps = [(f[:, primer - 1 :]).float().mean(0) for f in forced.pop("hits")]
    result = {
        "corpus": str(corpus.folder),
        "validation": describe_validation(corpus.manifest) or "whole pieces",
        "windows": count,
        "primer": primer,
        "horizon": horizon,
        **forced,
        "per_step": {
            str(step): {
                "teacher_forced": [float(h[step - 1]) for h in forced_steps],
                "free_running": [float(h[step - 1]) for h in free],
            }
            for step in REPORTED_STEPS
            if step <= horizon
        },
    }
    output = Path(output or run)
    output.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output / "evaluation.json", json.dumps(result, indent=1))
    return result


def _teacher_forced(bundle: Bundle, inputs: torch.Tensor, targets: torch.Tensor) -> dict:
    logits, loss, _ = bundle.model(inputs, targets)
    hits = [h.argmax(-1) == t for h, t in zip(_heads(logits), _targets(targets), strict=True)]
    return {
        "loss": float(loss),
        "perplexity": math.exp(float(loss) / len(hits)),  # per head, for two-head models
        "accuracy": [float(h.float().mean()) for h in hits],
        "hits": hits,
    }


def _free_running(bundle: Bundle, primer: torch.Tensor, truth: torch.Tensor, horizon: int):
    """Per head, the share of windows whose k-th free-running step equals the truth."""
    logits, _, state = bundle.model(primer)
    steps = []
    for _ in range(horizon):
        chosen = [h[:, -1].argmax(-1) for h in _heads(logits)]  # per head (N,)
        token = torch.stack(chosen, -1)[:, None] if len(chosen) > 1 else chosen[0][:, None]
        steps.append(token)
        logits, _, state = bundle.model(token, state=state)
    produced = torch.cat(steps, dim=1)  # (N, H) or (N, H, 2)
    hits = [p == t for p, t in zip(_targets(produced), _targets(truth[:, :horizon]), strict=True)]
    return [h.float().mean(0).numpy() for h in hits]


def format_evaluation(result: dict, heads: list[str]) -> str:
    """The evaluation as a short table."""
    accuracy = ", ".join(f"{h} {a:.1%}" for h, a in zip(heads, result["accuracy"], strict=True))
    lines = [
        f"validation windows: {result['windows']} (primer {result['primer']} steps, "
        f"continuation {result['horizon']})",
        f"teacher-forced: loss {result['loss']:.4f}, perplexity {result['perplexity']:.2f}, "
        f"accuracy {accuracy}",
        "",
        f"  {'step':>4}  " + "  ".join(f"{h + ' forced':>14}  {h + ' free':>12}" for h in heads),
    ]
    for step, row in result["per_step"].items():
        cells = [
            f"{forced:>14.1%}  {free:>12.1%}"
            for forced, free in zip(row["teacher_forced"], row["free_running"], strict=True)
        ]
        lines.append(f"  {step:>4}  " + "  ".join(cells))
    if result.get("validation", "whole pieces") != "whole pieces":  # a small corpus's tails
        lines.insert(1, f"({result['validation']})")
    return "\n".join(lines)
