"""`cadenza train`: Lightning training of a token model on a prepared corpus, into a run folder.

The run folder holds, while training, `train.json` (what is being trained on what) and
Lightning checkpoints (`checkpoints/last.ckpt`, `checkpoints/best.ckpt`) for `--resume`;
at the end, the bundle (`model.safetensors`, `config.json`, `vocab.json`, primers), the
metrics as CSV and the loss curve as PNG.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from cadenza.atomic import write_text_atomic
from cadenza.corpus.store import Corpus, describe_validation
from cadenza.errors import CadenzaError
from cadenza.models import model_kind, preset_config
from cadenza.representations import representation_for
from cadenza.representations.pitch_duration import pair_lookup
from cadenza.training.bundle import library_versions, save_bundle
from cadenza.training.data import FillInTheMiddle, SplitStream, WindowSampler
from cadenza.training.module import TokenModelTask
from cadenza.training.report import merge_metrics, plot_losses

PRIMER_WINDOWS = 32  # training windows kept in the bundle as primers for generation
PRECISIONS = ("32-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true",
              "32", "bf16", "16", "64")  # fmt: skip


@dataclass
class TrainConfig:
    """How to train; written to the run folder, and read back by `--resume`."""

    model: str = "chord-lstm"
    preset: str = "default"
    model_overrides: dict = field(default_factory=dict)  # e.g. {"hidden_size": 384}
    window: int | None = None  # None: the model's default (its ModelKind.training)
    batch_size: int | None = None
    learning_rate: float | None = None  # None: the model's default
    weight_decay: float = 0.01
    max_epochs: int = 200
    patience: int = 10
    max_minutes: float | None = None
    gradient_clip: float = 1.0
    seed: int = 0
    accelerator: str = "auto"
    devices: str = "1"
    num_nodes: int = 1
    progress: bool = True
    precision: str = "32-true"  # Lightning's: 32-true, bf16-mixed, 16-mixed, ...
    # Transposition of training windows, semitones LOW..HIGH: None is the default, -5..+6
    # where the representation can transpose (note-level ones), off elsewhere; [0, 0]: off.
    transpose: list[int] | None = None
    # Share of training windows rearranged for fill-in-the-middle (infilling): None is the
    # default, 0.25 where the representation has bar lines and sentinels (notes), else 0.
    fill_in_the_middle: float | None = None
    # Optimizer steps of the step size's cosine decay (model families that use one): set from
    # --epochs when the run starts and kept on --resume, so a longer resumed run ends at the
    # floor step size rather than changing the schedule behind it.
    schedule_steps: int | None = None

    def __post_init__(self) -> None:
        defaults = model_kind(self.model).training
        if self.learning_rate is None:
            self.learning_rate = defaults.learning_rate
        self.window = defaults.window if self.window is None else self.window
        self.batch_size = defaults.batch_size if self.batch_size is None else self.batch_size
        checks = {
            "window": self.window >= 2,
            "batch_size": self.batch_size >= 1,
            "learning_rate": self.learning_rate > 0,
            "max_epochs": self.max_epochs >= 1,
            "patience": self.patience >= 1,
            "gradient_clip": self.gradient_clip >= 0,
            "num_nodes": self.num_nodes >= 1,
            "max_minutes": self.max_minutes is None or self.max_minutes > 0,
        }
        for name, ok in checks.items():
            if not ok:
                flag = name.replace("_", "-")
                raise CadenzaError(f"--{flag} {getattr(self, name)} is out of range")
        if self.precision not in PRECISIONS:
            raise CadenzaError(
                f"--precision {self.precision} is not one of {', '.join(PRECISIONS)}"
            )
        if self.fill_in_the_middle is not None and not 0 <= self.fill_in_the_middle <= 1:
            raise CadenzaError(
                f"--fill-in-the-middle {self.fill_in_the_middle} is out of range (0..1)"
            )
        if self.transpose is not None:
            low, high = self.transpose = [int(value) for value in self.transpose]
            if not -24 <= low <= 0 <= high <= 24:
                raise CadenzaError(
                    f"--transpose {low} {high}: give LOW <= 0 <= HIGH within -24..24 semitones"
                )


class SplitData(L.LightningDataModule):
    """Train and validation windows; samplers are made once the DDP rank is known."""

    def __init__(self, corpus: Corpus, config: TrainConfig) -> None:
        super().__init__()
        self.config = config
        per_step = model_kind(config.model).tokens_per_step
        lookup = pair_lookup(corpus.vocabulary.tokens) if per_step == 2 else None
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
            self.train.fill_in_the_middle = FillInTheMiddle(self.fill_share, sentinels, boundaries)
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


BUDGET = ("max_epochs", "max_minutes", "patience")  # kept on resume unless given anew
ATTEMPT = ("progress", "devices", "num_nodes")  # each attempt's own


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


def _resolve_config(
    run: Path, corpus, config: TrainConfig, resume: bool, given: set[str] | None = None
) -> TrainConfig:
    """The config to train with: the given one, or for --resume the run's own with the
    budget flags in `given` (None: all of them) and this attempt's own settings from `config`."""
    record = run / "train.json"
    if resume:
        if not record.is_file():
            raise CadenzaError(f"{run}: nothing to resume (no train.json); start the run "
                               "without --resume")  # fmt: skip
        saved = json.loads(record.read_text("utf-8"))
        if saved["corpus_hash"] != corpus.manifest["corpus_hash"]:
            raise CadenzaError(
                f"{run}: was trained on another corpus (hash differs); cannot resume"
            )
        names = {f.name for f in fields(TrainConfig)}
        kept = {k: v for k, v in saved["training"].items() if k in names}
        for name in ATTEMPT + tuple(n for n in BUDGET if given is None or n in given):
            kept[name] = getattr(config, name)
        resolved = TrainConfig(**kept)
        if not _is_helper_process():  # a later resume keeps this attempt's budget
            _start_run_folder(run, corpus, resolved)
        return resolved
    if not _is_helper_process() and run.exists() and any(run.iterdir()):
        raise CadenzaError(f"{run}: the folder is not empty; use --resume or another folder")
    return config


def run_corpus(run: str | Path) -> Path:
    """The corpus folder a run was started on (its train.json), for `--resume` without one."""
    record = Path(run) / "train.json"
    if not record.is_file():
        raise CadenzaError(f"{run}: no train.json to take the corpus from; give the corpus folder")
    saved = json.loads(record.read_text("utf-8"))
    return Path(saved.get("corpus_absolute", saved["corpus"]))


def resume_command(corpus, run: Path) -> str:
    """The command that continues the run, as a user can paste it."""
    return f"cadenza train {shlex.quote(str(corpus))} --resume -o {shlex.quote(str(run))}"


def _is_helper_process() -> bool:
    """True in the processes that Lightning's DDP launcher (or a cluster) starts beside the
    first one: they join the run that the first process sets up and write nothing of it."""
    return int(os.environ.get("LOCAL_RANK", 0)) > 0 or int(os.environ.get("NODE_RANK", 0)) > 0


def _start_run_folder(run: Path, corpus: Corpus, config: TrainConfig) -> None:
    run.mkdir(parents=True, exist_ok=True)
    folder = Path(corpus.folder)
    payload = {
        "corpus": str(folder),
        "corpus_absolute": str(folder.resolve()),  # for --resume from another folder
        "corpus_hash": corpus.manifest["corpus_hash"],
        "training": asdict(config),
    }
    write_text_atomic(run / "train.json", json.dumps(payload, indent=1))


def train(
    corpus_folder: str | Path,
    run: str | Path,
    config: TrainConfig,
    resume: bool = False,
    given: set[str] | None = None,
) -> dict:
    """Train (or resume) a run; return the summary written into the bundle's config.

    On resume, the budget settings named in `given` come from `config` and the others from
    the run (None: all from `config`)."""
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    from cadenza.corpus.phrase_store import is_phrase_corpus

    if config.model == "musegan" or is_phrase_corpus(corpus_folder):
        from cadenza.training.gan import train_gan  # a GAN on piano-roll phrases

        return train_gan(corpus_folder, run, config, resume, given)
    # Lightning's start-up notes (accelerators found, tips) are noise in a terminal tool.
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    corpus, run = Corpus(corpus_folder), Path(run)
    if run.is_file():
        raise CadenzaError(f"{run}: is a file; give a folder for the run")
    config = _resolve_config(run, corpus, config, resume, given)
    # Everything that can fail on a setting is checked before the run folder is written.
    data = SplitData(corpus, config)
    model_config = preset_config(
        config.model, config.preset, corpus.vocabulary, **config.model_overrides
    )
    L.seed_everything(config.seed, verbose=False)
    torch.use_deterministic_algorithms(True)
    defaults = model_kind(config.model).training
    if config.schedule_steps is None:  # fixed when the run starts, kept on --resume
        config.schedule_steps = config.max_epochs * data.steps_per_epoch() if defaults.cosine else 0
    task = TokenModelTask(
        config.model, model_config, config.learning_rate, config.weight_decay, corpus.vocabulary,
        defaults.warmup_steps, config.schedule_steps,
    )  # fmt: skip
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
    trainer = _trainer(config, [checkpoints, stopper], _attempt_logger(run))
    if not resume and not _is_helper_process():
        _start_run_folder(run, corpus, config)
    started = time.perf_counter()
    _fit(trainer, task, run, resume, corpus.folder, datamodule=data)
    if not trainer.is_global_zero:
        return {}
    summary = {
        "validation": describe_validation(corpus.manifest) or "whole pieces",
        "transpose": [data.shifts[0], data.shifts[-1]],
        "fill_in_the_middle": data.fill_share,
        "epochs": trainer.current_epoch,
        "stopped_early": bool(stopper.stopped_epoch),
        "seconds_this_attempt": round(time.perf_counter() - started, 2),
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


def _attempt_logger(run: Path):
    """A CSV logger writing into logs/attempt-N, N counting the attempts (resumes) so far."""
    from lightning.pytorch.loggers import CSVLogger

    attempt = len(list((run / "logs").glob("attempt-*"))) if (run / "logs").exists() else 0
    return CSVLogger(run, "logs", f"attempt-{attempt}")


def _fit(
    trainer: L.Trainer, task: L.LightningModule, run: Path, resume: bool, corpus, **data
) -> None:
    """Fit, from the run's last checkpoint when resuming (from the start when the attempt
    before was stopped ahead of its first one); Ctrl-C prints the command that continues."""
    last = run / "checkpoints" / "last.ckpt"
    if resume and not last.is_file():
        warnings.warn(f"{run}: no checkpoint yet; training from the start with its settings",
                      stacklevel=2)  # fmt: skip
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*on_epoch=True.*sync_dist.*")
        warnings.filterwarnings("ignore", ".*LeafSpec.*is deprecated.*")
        warnings.filterwarnings("ignore", ".*Checkpoint directory.*exists and is not empty.*")
        start = last if resume and last.is_file() else None
        handler = signal.getsignal(signal.SIGINT)
        try:
            trainer.fit(task, ckpt_path=start, weights_only=True, **data)
        except SystemExit:  # how Lightning ends after it has caught Ctrl-C
            raise CadenzaError(
                f"training was interrupted; continue it with: {resume_command(corpus, run)}"
            ) from None
        finally:  # Lightning ignores Ctrl-C from its first one on; a caller may want it back
            if threading.current_thread() is threading.main_thread() and handler is not None:
                signal.signal(signal.SIGINT, handler)


def _trainer(config: TrainConfig, callbacks: list, logger) -> L.Trainer:
    """The Lightning trainer; a setting it cannot use is one clear error, before any writing."""
    try:
        return L.Trainer(
            accelerator=config.accelerator,
            devices=int(config.devices) if config.devices.isdigit() else config.devices,
            num_nodes=config.num_nodes,
            precision=config.precision,
            max_epochs=config.max_epochs,
            max_time={"minutes": config.max_minutes} if config.max_minutes else None,
            gradient_clip_val=config.gradient_clip or None,
            deterministic=True,
            callbacks=callbacks,
            logger=logger,
            num_sanity_val_steps=0,  # a sanity pass would shift the RNG of a resumed run
            use_distributed_sampler=False,  # WindowSampler shares the windows out itself
            enable_progress_bar=config.progress,
            enable_model_summary=False,
            log_every_n_steps=1,
        )
    except Exception as error:  # Lightning raises several types for unusable devices
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CadenzaError(
            f"cannot train with --accelerator {config.accelerator} --devices {config.devices} "
            f"--num-nodes {config.num_nodes} --precision {config.precision}: {message}"
        ) from None


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
    bundle_config = {
        "model": {"name": config.model, "preset": config.preset, "config": model_config},
        "representation": {
            "name": corpus.vocabulary.representation,
            "settings": corpus.vocabulary.settings,
            "facts": corpus_facts(corpus),
        },
        # Enough to find the corpus from any folder, or rebuild it from music21 (evaluate).
        "corpus": {**corpus.record(), "from_run": os.path.relpath(corpus.folder.resolve(), run)},
        "training": asdict(config),
        "seed": config.seed,
        "versions": library_versions(),
        "results": summary,
        "train_token_counts": train_counts.tolist(),
    }
    rows = merge_metrics(run / "logs", run / "metrics.csv")
    losses = [row["val_loss"] for row in rows if "val_loss" in row]
    summary["best_val_loss"] = min(losses) if losses else None
    save_bundle(run, weights, bundle_config, corpus.vocabulary, primers)
    plot_losses(rows, run / "loss.png")
