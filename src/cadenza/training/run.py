"""A training run, whatever the model family: its config, its folder, its trainer and its bundle.

The token loop (training/train.py) and the GAN loop (training/gan.py) both use these; neither
imports the other's private parts. The run folder holds `train.json` (what is being trained
on what) from the start, for `--resume`; `config.json` at the end, written by `bundle_config`
(bundle/config.py) for every family.
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
import torch

from cadenza.atomic import write_text_atomic
from cadenza.errors import CadenzaError
from cadenza.models import model_kind, preset_config

PRECISIONS = ("32-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true",
              "32", "bf16", "16", "64")  # fmt: skip
BUDGET = ("max_epochs", "max_minutes", "patience")  # kept on resume unless given anew
ATTEMPT = ("progress", "devices", "num_nodes")  # each attempt's own


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
    # A run (or built-in model) whose weights start this one, and whose model it rebuilds
    # (training/initial.py); None: the model's own random initialization.
    init: str | None = None

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

    def model_config(self, vocabulary) -> dict:
        """The model's config: the preset named by `model` and `preset` for `vocabulary`,
        with the `--set` overrides."""
        return preset_config(self.model, self.preset, vocabulary, **self.model_overrides)


def quiet_lightning() -> None:
    """Lightning's start-up notes (accelerators found, tips) are noise in a terminal tool."""
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)


def check_run_target(run: Path) -> None:
    """Refuse a run folder that is a file."""
    if run.is_file():
        raise CadenzaError(f"{run}: is a file; give a folder for the run")


def seed_run(seed: int) -> None:
    """Seed Python, NumPy and torch, and make torch's kernels deterministic."""
    L.seed_everything(seed, verbose=False)
    torch.use_deterministic_algorithms(True)


def resolve_config(
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
        if not is_helper_process():  # a later resume keeps this attempt's budget
            start_run_folder(run, corpus, resolved)
        return resolved
    if not is_helper_process() and run.exists() and any(run.iterdir()):
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


def is_helper_process() -> bool:
    """True in the processes that Lightning's DDP launcher (or a cluster) starts beside the
    first one: they join the run that the first process sets up and write nothing of it."""
    return int(os.environ.get("LOCAL_RANK", 0)) > 0 or int(os.environ.get("NODE_RANK", 0)) > 0


def start_run_folder(run: Path, corpus, config: TrainConfig) -> None:
    """Write `train.json`: the corpus (where and which) and the config, for `--resume`."""
    run.mkdir(parents=True, exist_ok=True)
    folder = Path(corpus.folder)
    payload = {
        "corpus": str(folder),
        "corpus_absolute": str(folder.resolve()),  # for --resume from another folder
        "corpus_hash": corpus.manifest["corpus_hash"],
        "training": asdict(config),
    }
    write_text_atomic(run / "train.json", json.dumps(payload, indent=1))


def attempt_logger(run: Path):
    """A CSV logger writing into logs/attempt-N, N counting the attempts (resumes) so far."""
    from lightning.pytorch.loggers import CSVLogger

    attempt = len(list((run / "logs").glob("attempt-*"))) if (run / "logs").exists() else 0
    return CSVLogger(run, "logs", f"attempt-{attempt}")


def fit(
    trainer: L.Trainer,
    task: L.LightningModule,
    run: Path,
    resume: bool,
    corpus,
    config: TrainConfig,
    **data,
) -> float:
    """Fit, from the run's last checkpoint when resuming (from the start when the attempt
    before was stopped ahead of its first one), after writing a new run's `train.json`;
    return the seconds this attempt took. Ctrl-C prints the command that continues."""
    if not resume and not is_helper_process():
        start_run_folder(run, corpus, config)
    started = time.perf_counter()
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
                f"training was interrupted; continue it with: {resume_command(corpus.folder, run)}"
            ) from None
        finally:  # Lightning ignores Ctrl-C from its first one on; a caller may want it back
            if threading.current_thread() is threading.main_thread() and handler is not None:
                signal.signal(signal.SIGINT, handler)
    return time.perf_counter() - started


def make_trainer(config: TrainConfig, callbacks: list, logger) -> L.Trainer:
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
