"""`cadenza train`: the entry that picks a model family's loop, and the token models' loop.

Token models train here with Lightning on a prepared corpus, into a run folder; MuseGAN, a
GAN on piano-roll phrases, trains in training/gan.py. The run folder holds, while training,
`train.json` (what is being trained on what) and Lightning checkpoints
(`checkpoints/last.ckpt`, `checkpoints/best.ckpt`) for `--resume`; at the end, the bundle
(`model.safetensors`, `config.json`, `vocab.json`, primers), the metrics as CSV and the loss
curve as PNG. What both loops share (the config, the run folder, the trainer, the bundle's
config) is in training/run.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from cadenza.bundle import bundle_config, save_bundle
from cadenza.corpus.phrase_store import is_phrase_corpus
from cadenza.corpus.store import Corpus, describe_validation
from cadenza.errors import CadenzaError
from cadenza.models import model_kind
from cadenza.representations import representation_for
from cadenza.representations.pitch_duration import pair_lookup
from cadenza.training.data import (
    FILL_IN_THE_MIDDLE_ORDER,
    FillInTheMiddle,
    SplitStream,
    WindowSampler,
    bar_count_ids,
)
from cadenza.training.gan import train_gan
from cadenza.training.initial import load_initial_weights
from cadenza.training.loss_log import merge_metrics, plot_losses
from cadenza.training.module import TokenModelTask
from cadenza.training.run import (
    TrainConfig,
    attempt_logger,
    check_run_target,
    fit,
    make_trainer,
    quiet_lightning,
    resolve_config,
    run_corpus,  # noqa: F401  (the CLI imports it from here)
    seed_run,
)

PRIMER_WINDOWS = 32  # training windows kept in the bundle as primers for generation


class SplitData(L.LightningDataModule):
    """Train and validation windows; samplers are made once the DDP rank is known."""

    def __init__(self, corpus: Corpus, config: TrainConfig) -> None:
        super().__init__()
        self.config = config
        kind = model_kind(config.model)
        per_step = kind.tokens_per_step
        lookup = pair_lookup(corpus.vocabulary.tokens) if kind.pairs else None
        self.train = SplitStream(corpus, "train", config.window, per_step, lookup)
        validation_steps = SplitStream(corpus, "validation", 1, per_step, lookup).length
        if validation_steps < 2:
            raise CadenzaError(_no_validation(corpus))
        validation_window = min(config.window, validation_steps - 1)
        self.validation = SplitStream(corpus, "validation", validation_window, per_step, lookup)
        self.shifts = transposition_shifts(corpus, config.transpose)
        if len(self.shifts) > 1:
            representation = representation_for(corpus.vocabulary)
            tokens = corpus.vocabulary.tokens
            self.train.transpose_with(
                np.stack([representation.transposition_table(tokens, k) for k in self.shifts])
            )
        self.fill_share = fill_in_the_middle_share(corpus, config.fill_in_the_middle)
        if self.fill_share > 0:
            representation = representation_for(corpus.vocabulary)
            tokens = corpus.vocabulary.tokens
            sentinels = corpus.vocabulary.encode(representation.fill_in_the_middle_tokens)
            boundaries = representation.boundary_tokens(tokens)
            self.train.fill_in_the_middle = FillInTheMiddle(
                self.fill_share,
                sentinels,
                boundaries,
                bar_count_ids(representation, tokens),
                corpus.vocabulary.index.get(representation.opening_tokens()[0]),
            )
        if self.train.length < config.window + 1:
            raise CadenzaError(
                f"{corpus.folder}: {self.train.length} training tokens are fewer than one "
                f"window of {config.window} (use a smaller --window)"
            )

    def _loader(self, stream: SplitStream, shuffle: bool) -> DataLoader:
        rank, world = self.trainer.global_rank, self.trainer.world_size
        sampler = WindowSampler(stream, self.config.seed, shuffle, rank, world)
        # A private generator: DataLoader would otherwise draw from torch's global one.
        generator = torch.Generator().manual_seed(self.config.seed)
        return DataLoader(
            stream, batch_size=self.config.batch_size, sampler=sampler, generator=generator
        )

    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch (one process): whole windows over the batch size."""
        windows = max(0, (self.train.length - 1) // self.config.window - 1)
        return max(1, -(-windows // self.config.batch_size))

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.validation, shuffle=False)


def _no_validation(corpus: Corpus) -> str:
    """Why a corpus has no validation steps to train with, in one sentence."""
    if corpus.validation_tail is not None:
        tokens = int(corpus.offsets[-1])
        return (
            f"{corpus.folder}: its {len(corpus)} piece(s) of {tokens} tokens in all are too short "
            "to hold out a validation tail; give more or longer pieces"
        )
    return (
        f"{corpus.folder}: the corpus has no validation tokens; prepare it with "
        "--validation above 0 or with more files"
    )


DEFAULT_TRANSPOSE = (-5, 6)  # semitones; a fifth down to a tritone up covers every key


def transposition_shifts(corpus: Corpus, transpose: list[int] | None) -> list[int]:
    """The shifts training windows are transposed by: the asked range, or the default where
    the corpus's representation can transpose; refused where it cannot."""
    representation = representation_for(corpus.vocabulary)
    able = hasattr(representation, "transposition_table")
    if transpose is None:
        low, high = DEFAULT_TRANSPOSE if able else (0, 0)
    else:
        low, high = transpose
    if (low, high) != (0, 0) and not able:
        raise CadenzaError(
            f"--transpose: the {representation.name} representation cannot be transposed "
            "(note-level representations can: notes, frame-notes)"
        )
    return list(range(low, high + 1))


DEFAULT_FILL_IN_THE_MIDDLE = 0.25  # of training windows, where the representation can


def fill_in_the_middle_share(corpus: Corpus, share: float | None) -> float:
    """The share of training windows rearranged for infilling: the asked one, or the default
    where the representation has bar lines and sentinels; refused where it has not."""
    representation = representation_for(corpus.vocabulary)
    able = hasattr(representation, "fill_in_the_middle_tokens")
    chosen = (DEFAULT_FILL_IN_THE_MIDDLE if able else 0.0) if share is None else share
    if chosen > 0 and not able:
        raise CadenzaError(
            f"--fill-in-the-middle: the {representation.name} representation has no bar lines "
            "to cut at (the notes representation has)"
        )
    return float(chosen)


def train(
    corpus_folder: str | Path,
    run: str | Path,
    config: TrainConfig,
    resume: bool = False,
    given: set[str] | None = None,
) -> dict:
    """Train (or resume) a run with its model family's loop; return the summary written into
    the bundle's config.

    On resume, the budget settings named in `given` come from `config` and the others from
    the run (None: all from `config`)."""
    if model_kind(config.model).makes_phrases or is_phrase_corpus(corpus_folder):
        if config.init is not None:
            raise CadenzaError(f"--init: a {config.model} run cannot start from another's weights")
        return train_gan(corpus_folder, run, config, resume, given)  # it refuses a mismatch
    return train_tokens(corpus_folder, run, config, resume, given)


def train_tokens(
    corpus_folder: str | Path,
    run: str | Path,
    config: TrainConfig,
    resume: bool = False,
    given: set[str] | None = None,
) -> dict:
    """Train (or resume) a token model on a token corpus; as `train`."""
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    quiet_lightning()
    corpus, run = Corpus(corpus_folder), Path(run)
    check_run_target(run)
    config = resolve_config(run, corpus, config, resume, given)
    # Everything that can fail on a setting is checked before the run folder is written.
    data = SplitData(corpus, config)
    model_config = config.model_config(corpus.vocabulary)
    seed_run(config.seed)
    defaults = model_kind(config.model).training
    if config.schedule_steps is None:  # fixed when the run starts, kept on --resume
        config.schedule_steps = config.max_epochs * data.steps_per_epoch() if defaults.cosine else 0
    task = TokenModelTask(
        config.model, model_config, config.learning_rate, config.weight_decay, corpus.vocabulary,
        defaults.warmup_steps, config.schedule_steps,
    )  # fmt: skip
    if config.init is not None and not resume:  # a resumed run has them in its checkpoint
        load_initial_weights(task.model, Path(config.init), corpus.vocabulary)
    longest = getattr(task.model, "max_window", config.window)  # a transformer's context
    if config.window > longest:
        raise CadenzaError(
            f"--window {config.window} is longer than the {config.model}'s context of {longest} "
            f"tokens (give --window {longest} or less, or --set context={config.window})"
        )
    checkpoints = ModelCheckpoint(
        dirpath=run / "checkpoints", filename="best", monitor="val_loss", mode="min",
        save_last=True, save_top_k=1, enable_version_counter=False,
    )  # fmt: skip
    stopper = EarlyStopping(monitor="val_loss", mode="min", patience=config.patience)
    trainer = make_trainer(config, [checkpoints, stopper], attempt_logger(run))
    seconds = fit(trainer, task, run, resume, corpus, config, datamodule=data)
    if not trainer.is_global_zero:
        return {}
    summary = {
        "validation": describe_validation(corpus.manifest) or "whole pieces",
        "transpose": [data.shifts[0], data.shifts[-1]],
        "fill_in_the_middle": data.fill_share,
        "fill_in_the_middle_order": FILL_IN_THE_MIDDLE_ORDER,
        "initialized_from": config.init,
        "epochs": trainer.current_epoch,
        "stopped_early": bool(stopper.stopped_epoch),
        "seconds_this_attempt": round(seconds, 2),
    }
    _export(run, corpus, config, model_config, task, data, summary)
    return summary


def corpus_facts(corpus: Corpus) -> dict:
    """What the representation learns from the training pieces for sampling (the notes
    grammar's monophonic tracks); {} for representations that need nothing."""
    representation = representation_for(corpus.vocabulary)
    if not hasattr(representation, "corpus_facts"):
        return {}
    pieces = corpus.stretches("train")
    return representation.corpus_facts(corpus.vocabulary.decode(ids) for _, ids in pieces)


def _export(run, corpus, config, model_config, task, data, summary) -> None:
    """Write the bundle from this run's best checkpoint (or the current weights if none)."""
    run = run.resolve()
    state = {f"model.{k}": v for k, v in task.model.state_dict().items()}
    best = run / "checkpoints" / "best.ckpt"  # this folder's own, wherever the run began
    if best.is_file():
        state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
    weights = {k.removeprefix("model."): v for k, v in state.items()}
    rng = np.random.default_rng(config.seed)
    count = min(PRIMER_WINDOWS, data.train.length - config.window)
    starts = rng.choice(data.train.length - config.window, size=count, replace=False)
    primers = torch.from_numpy(np.stack([data.train.steps(int(s), config.window) for s in starts]))
    train_counts = np.zeros(len(corpus.vocabulary), np.int64)
    for _, ids in corpus.stretches("train"):
        train_counts += np.bincount(ids, minlength=len(corpus.vocabulary))
    # Enough to find the corpus from any folder, or rebuild it from music21 (evaluate).
    record = {**corpus.record(), "from_run": os.path.relpath(corpus.folder.resolve(), run)}
    config_json = bundle_config(
        config, model_config, corpus.vocabulary, record, summary, train_counts,
        facts=corpus_facts(corpus),
    )  # fmt: skip
    rows = merge_metrics(run / "logs", run / "metrics.csv")
    losses = [row["val_loss"] for row in rows if "val_loss" in row]
    summary["best_val_loss"] = min(losses) if losses else None
    save_bundle(run, weights, config_json, corpus.vocabulary, primers)
    plot_losses(rows, run / "loss.png")
