"""`cadenza train CORPUS -o RUN`: train a model on a prepared corpus (training/train.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cadenza.cli.flags import add_threads_flag
from cadenza.errors import CadenzaError
from cadenza.threads import MOST_TRAINING_THREADS, use_threads

HELP = "train a model on a prepared corpus"
DESCRIPTION = (
    "Train a model on a corpus made by `cadenza prepare`, into the run folder "
    "RUN: checkpoints (for --resume), then the bundle (model.safetensors, config.json, "
    "vocab.json), metrics.csv and loss.png."
)


def add_flags(train: argparse.ArgumentParser) -> None:
    """The flags of `cadenza train`."""
    train.add_argument(
        "corpus", type=Path, nargs="?",
        help="corpus folder from `cadenza prepare` (with --resume: the run's own by default)",
    )  # fmt: skip
    train.add_argument("-o", "--output", type=Path, required=True, help="run folder")
    # None when not given, so that --init can refuse them (it takes the model from its run)
    train.add_argument("--model", help="model name (chord-lstm)")
    train.add_argument("--preset", help="default, tutorial or tiny (musegan: default, book)")
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting of the preset, e.g. --set hidden_size=384 (repeatable)",
    )
    train.add_argument(
        "--window", type=int, help="steps per window (100; attention-lstm: 32 events)"
    )
    train.add_argument(
        "--batch-size", type=int, help="windows per batch (64; attention-lstm: 16; musegan: 32)"
    )
    train.add_argument("--learning-rate", type=float, help="Adam's step size (2e-3; musegan: 1e-3)")
    # None when not given: --resume then keeps the run's own budget
    train.add_argument("--epochs", type=int, help="most epochs (200; --resume: the run's)")
    train.add_argument("--patience", type=int, help="early-stopping patience (10; the run's)")
    train.add_argument("--max-minutes", type=float, help="stop after this many minutes")
    train.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (0: off)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--resume", action="store_true", help="continue the run in RUN")
    train.add_argument("--accelerator", default="auto", help="auto (a GPU if present), cpu, gpu")
    train.add_argument("--devices", default="1", help="devices per node, or auto")
    train.add_argument("--num-nodes", type=int, default=1, help="nodes for DDP")
    train.add_argument(
        "--precision", default="32-true", help="Lightning's: 32-true, bf16-mixed, 16-mixed..."
    )
    train.add_argument(
        "--transpose", nargs=2, type=int, metavar=("LOW", "HIGH"),
        help="transpose each training window by LOW..HIGH semitones (note-level "
        "representations: -5 6 by default; 0 0 switches it off)",
    )  # fmt: skip
    train.add_argument(
        "--fill-in-the-middle", type=float, metavar="SHARE",
        help="share of training windows rearranged as prefix, suffix, middle, so the model can "
        "fill in bars (notes: 0.25 by default; 0 switches it off)",
    )  # fmt: skip
    train.add_argument(
        "--init", metavar="RUN",
        help="start from the weights of RUN (a run folder or a built-in model's name), "
        "with its model and settings: fine-tuning; the corpus may add tokens to RUN's",
    )  # fmt: skip
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_flag(train, f"the free cores, at most {MOST_TRAINING_THREADS}")


def run(args: argparse.Namespace) -> int:
    """Handle `cadenza train`."""
    use_threads("train", args.threads)  # first: a bad --threads is refused before the imports
    from cadenza.training.initial import initial_folder
    from cadenza.training.train import TrainConfig, run_corpus, train

    if args.corpus is None and not args.resume:
        raise CadenzaError("give the corpus folder (only --resume can take it from the run)")
    corpus = args.corpus if args.corpus is not None else run_corpus(args.output)
    init = None if args.init is None else initial_folder(args.init)
    model, preset, overrides = _model_settings(args, init)
    budget = {"max_epochs": args.epochs, "patience": args.patience, "max_minutes": args.max_minutes}
    given = {name for name, value in budget.items() if value is not None}
    config = TrainConfig(
        preset=preset,
        model_overrides=overrides,
        model=model,
        window=args.window,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        **{name: budget[name] for name in given},
        gradient_clip=args.clip,
        seed=args.seed,
        accelerator=args.accelerator,
        devices=args.devices,
        num_nodes=args.num_nodes,
        precision=args.precision,
        progress=not args.quiet,
        transpose=args.transpose,
        fill_in_the_middle=args.fill_in_the_middle,
        init=None if init is None else str(init),
    )
    summary = train(corpus, args.output, config, resume=args.resume, given=given)
    if summary.get("exported") == "last":  # a GAN (musegan): no validation loss
        steps = summary["generator_steps"]
        print(f"Trained {summary['epochs']} epochs ({steps} generator steps) -> {args.output}")
    elif summary:
        best = summary["best_val_loss"]
        shown = f"{best:.4f}" if best is not None else "none (no epoch finished)"
        print(f"Trained {summary['epochs']} epochs, best validation loss {shown} -> {args.output}")
        if summary.get("validation", "whole pieces") != "whole pieces":
            print(f"  ({summary['validation']})")
    return 0


def _model_settings(args: argparse.Namespace, init: Path | None) -> tuple[str, str, dict]:
    """(model, preset, --set overrides): from the flags, or with --init from its run `init`."""
    from cadenza.training.initial import initial_model

    if init is None:
        return args.model or "chord-lstm", args.preset or "default", _parse_overrides(args.set)
    given = [flag for flag, value in (("--model", args.model), ("--preset", args.preset),
                                      ("--set", args.set)) if value]  # fmt: skip
    if given:
        raise CadenzaError(
            f"{given[0]} cannot go with --init, which takes the model and its settings from "
            f"{args.init}"
        )
    if args.resume:
        raise CadenzaError("--init cannot go with --resume (the run has its weights already)")
    return initial_model(init)


def _parse_overrides(pairs: list[str]) -> dict:
    """["hidden_size=384", "batch_norm=true"] -> {"hidden_size": 384, "batch_norm": True}."""
    import json

    overrides = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise CadenzaError(f"--set expects KEY=VALUE, got {pair!r}")
        try:
            overrides[key.strip()] = json.loads(value.strip().lower())
        except ValueError:
            raise CadenzaError(f"--set {pair}: the value must be a number or true/false") from None
    return overrides
