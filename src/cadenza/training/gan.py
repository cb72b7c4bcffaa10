"""`cadenza train --model musegan`: WGAN-GP training of MuseGAN on a phrase corpus.

Each training batch of real phrases is one critic step: its loss is
mean critic(fake) - mean critic(real) + 10 * gradient penalty; after every 5th critic step
the generator takes one step on -mean critic(fake). Both use Adam (betas 0.5, 0.9), as
Generative Deep Learning does. An epoch shows the critic every training phrase once.

The run folder, checkpoints, `--resume`, `--max-minutes`, the progress bar, the CSV log and
the bundle's config are the same as for the token models (training/run.py). A GAN has no validation
loss: the bundle holds the *last* generator, and there is no early stopping (`--patience`,
`--window` and `--clip` do not apply). Only the generator goes into the bundle; the critic
lives in the checkpoints, for `--resume`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from cadenza.corpus.phrase_store import PhraseCorpus, is_phrase_corpus
from cadenza.errors import CadenzaError
from cadenza.models import model_kind
from cadenza.models.musegan import MuseGANConfig, MuseGANCritic, MuseGANGenerator, sample_noise
from cadenza.representations.pianoroll import PITCHES
from cadenza.training.gan_export import export_gan
from cadenza.training.run import (
    TrainConfig,
    attempt_logger,
    check_run_target,
    fit,
    make_trainer,
    quiet_lightning,
    resolve_config,
    seed_run,
)

LOGGED = ("critic_loss", "generator_loss", "gradient_penalty", "wasserstein_distance")


@dataclass(frozen=True)
class GANSettings:
    """How the two networks are trained against each other (the book's values)."""

    critic_steps: int = 5  # critic steps per generator step
    penalty_weight: float = 10.0
    beta1: float = 0.5
    beta2: float = 0.9


def phrases_to_tanh(voices: torch.Tensor) -> torch.Tensor:
    """Voice grids (B, bars, steps, 4) of pitch indices (-1 silent) -> rolls in {-1, 1},
    (B, bars, steps, 84, 4)."""
    one_hot = torch.nn.functional.one_hot(voices.long() + 1, PITCHES + 1)[..., 1:]  # (..., 4, 84)
    return one_hot.transpose(-1, -2).float() * 2 - 1


def gradient_penalty(
    critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP: mean over the batch of (|grad critic(x)| - 1)^2 at x = alpha real + (1 - alpha)
    fake, the norm taken over all of a phrase's cells."""
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    norms = gradient.flatten(1).norm(dim=1)  # (B,)
    return ((norms - 1) ** 2).mean()


class PhraseSampler(Sampler[int]):
    """The training phrases of one epoch, in an order fixed by (seed, epoch)."""

    def __init__(self, count: int, seed: int) -> None:
        self.count, self.seed, self.epoch = count, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of each epoch."""
        self.epoch = epoch

    def __iter__(self):
        return iter(np.random.default_rng([self.seed, self.epoch]).permutation(self.count).tolist())

    def __len__(self) -> int:
        return self.count


class MuseGANTask(L.LightningModule):
    """The generator and the critic, trained with manual optimization (two optimizers)."""

    def __init__(self, model_config: dict, learning_rate: float, settings: dict) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.config = MuseGANConfig(**model_config)
        self.settings = GANSettings(**settings)
        self.generator = MuseGANGenerator(self.config)
        self.critic = MuseGANCritic(self.config)
        self.critic_updates = 0

    def training_step(self, batch: torch.Tensor, index: int) -> None:
        generator_optimizer, critic_optimizer = self.optimizers()
        real = phrases_to_tanh(batch)  # (B, bars, steps, pitches, tracks)
        with torch.no_grad():
            fake = self.generator(sample_noise(self.config, len(real), device=real.device))
        alpha = torch.rand(len(real), 1, 1, 1, 1, device=real.device)
        penalty = gradient_penalty(self.critic, real, fake, alpha)
        distance = self.critic(real).mean() - self.critic(fake).mean()
        critic_loss = -distance + self.settings.penalty_weight * penalty
        critic_optimizer.zero_grad()
        self.manual_backward(critic_loss)
        critic_optimizer.step()
        self.critic_updates += 1
        logged = {"critic_loss": critic_loss, "gradient_penalty": penalty,
                  "wasserstein_distance": distance}  # fmt: skip
        if self.critic_updates % self.settings.critic_steps == 0:
            self.critic.requires_grad_(False)  # the generator step needs no critic gradients
            noise = sample_noise(self.config, len(real), device=real.device)
            generator_loss = -self.critic(self.generator(noise)).mean()
            generator_optimizer.zero_grad()
            self.manual_backward(generator_loss)
            generator_optimizer.step()
            self.critic.requires_grad_(True)
            logged["generator_loss"] = generator_loss
        for name, value in logged.items():
            self.log(name, value.detach(), on_step=False, on_epoch=True, prog_bar=True)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        betas = (self.settings.beta1, self.settings.beta2)
        rate = self.hparams.learning_rate
        return [
            torch.optim.Adam(self.generator.parameters(), lr=rate, betas=betas),
            torch.optim.Adam(self.critic.parameters(), lr=rate, betas=betas),
        ]

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Noise and the penalty's mixing draw from torch's global generator: keep its state,
        # and the step count that decides when the generator steps, for an exact resume.
        checkpoint["torch_rng_state"] = torch.get_rng_state()
        checkpoint["critic_updates"] = self.critic_updates

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        torch.set_rng_state(checkpoint["torch_rng_state"])
        self.critic_updates = int(checkpoint["critic_updates"])


def _loader(phrases: np.ndarray, config: TrainConfig) -> DataLoader:
    voices = torch.from_numpy(np.ascontiguousarray(phrases, dtype=np.int8))
    if len(voices) < config.batch_size:
        raise CadenzaError(
            f"{len(voices)} training phrases are fewer than one batch of {config.batch_size} "
            "(use a smaller --batch-size)"
        )
    sampler = PhraseSampler(len(voices), config.seed)
    return DataLoader(  # whole batches only: each is one critic step
        voices, config.batch_size, sampler=sampler, drop_last=True, collate_fn=torch.stack
    )


def train_gan(
    corpus_folder: str | Path,
    run: str | Path,
    config: TrainConfig,
    resume: bool = False,
    given: set[str] | None = None,
) -> dict:
    """Train (or resume) a MuseGAN run; return the summary written into the bundle's config."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    quiet_lightning()
    if not is_phrase_corpus(corpus_folder):
        raise CadenzaError(
            f"{corpus_folder}: musegan needs a piano-roll corpus (prepare it with "
            "--representation pianoroll)"
        )
    corpus, run = PhraseCorpus(corpus_folder), Path(run)
    if not model_kind(config.model).makes_phrases:
        raise CadenzaError(
            f"{corpus.folder} is a piano-roll corpus: it trains --model musegan, not {config.model}"
        )
    check_run_target(run)
    if config.devices != "1" or config.num_nodes != 1:
        raise CadenzaError("musegan trains on one device: use --devices 1 --num-nodes 1")
    config = resolve_config(run, corpus, config, resume, given)
    phrases = corpus.phrases[corpus.phrase_indices("train")]
    loader = _loader(phrases, config)
    model_config = config.model_config(corpus.vocabulary)
    seed_run(config.seed)
    task = MuseGANTask(model_config, config.learning_rate, asdict(GANSettings()))
    # With nothing to monitor, top-1 means the latest: last.ckpt is rewritten every epoch.
    checkpoints = ModelCheckpoint(
        dirpath=run / "checkpoints", filename="last", save_top_k=1, enable_version_counter=False
    )
    # Lightning clips gradients only under automatic optimization; WGAN-GP needs none.
    trainer = make_trainer(replace(config, gradient_clip=0), [checkpoints], attempt_logger(run))
    seconds = fit(trainer, task, run, resume, corpus, config, train_dataloaders=loader)
    summary = {
        "epochs": trainer.current_epoch,
        "generator_steps": task.critic_updates // task.settings.critic_steps,
        "stopped_early": False,
        "seconds_this_attempt": round(seconds, 2),
        "exported": "last",
    }
    export_gan(run, corpus, config, model_config, task, summary)
    return summary
