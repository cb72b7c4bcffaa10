"""The Lightning wrapper around any token model: loss, logging, optimizer, RNG in checkpoints."""

from __future__ import annotations

import math

import lightning as L
import torch

from cadenza.models import build_model
from cadenza.representations.vocab import Vocabulary


def step_size_factor(step: int, warmup: int, total: int) -> float:
    """The share of the step size at optimizer step `step`: a linear warm-up over `warmup`
    steps, then (with `total` > 0) half a cosine down to a tenth at step `total`."""
    if step < warmup:
        return (step + 1) / warmup
    if total <= warmup:
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


class TokenModelTask(L.LightningModule):
    """Next-token training of a model: forward(tokens, targets) -> (logits, loss, state)."""

    def __init__(
        self,
        model_name: str,
        model_config: dict,
        learning_rate: float,
        weight_decay: float,
        vocabulary: Vocabulary | None = None,
        warmup_steps: int = 0,
        cosine_steps: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["vocabulary"])
        self.model = build_model(model_name, model_config, vocabulary)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> torch.Tensor:
        inputs, targets = batch  # (B, T), (B, T)
        _, loss, _ = self.model(inputs, targets)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> None:
        inputs, targets = batch
        _, loss, _ = self.model(inputs, targets)
        self.log("val_loss", loss, on_epoch=True, prog_bar=True, sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=self.hparams.learning_rate,
            weight_decay=self.hparams.weight_decay,
        )
        warmup, total = self.hparams.get("warmup_steps", 0), self.hparams.get("cosine_steps", 0)
        if not warmup and not total:
            return optimizer  # a constant step size (the LSTMs)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: step_size_factor(step, warmup, total)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Dropout draws from torch's global generator: keep its state so that a resumed run
        # continues exactly where the interrupted one stopped.
        checkpoint["torch_rng_state"] = torch.get_rng_state()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "torch_rng_state" in checkpoint:
            torch.set_rng_state(checkpoint["torch_rng_state"])
