"""`melody-lstm`: a small LSTM over note symbols, trained statefully (batch 1, state carried
from one window to the next) as in the classic "Butterfly" Keras demo."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from cadenza.models.chord_lstm import LSTMState


@dataclass(frozen=True)
class MelodyLSTMConfig:
    """vocab_size note symbols in, the next symbol out."""

    vocab_size: int
    embedding_size: int = 16
    hidden_size: int = 128

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")

    def to_dict(self) -> dict:
        return asdict(self)


class MelodyLSTM(nn.Module):
    """Embedding -> one LSTM layer -> logits over note symbols."""

    def __init__(self, config: MelodyLSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.lstm = nn.LSTM(config.embedding_size, config.hidden_size, batch_first=True)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(
        self,
        tokens: torch.Tensor,
        targets: torch.Tensor | None = None,
        state: LSTMState | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, LSTMState]:
        """Logits for the token after each position; loss when targets are given."""
        hidden, state = self.lstm(self.embedding(tokens), state)  # (B, T, H)
        logits = self.head(hidden)  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss, state
