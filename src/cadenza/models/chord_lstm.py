"""`chord-lstm`: the tutorial's note/chord LSTM, with a token embedding and a target per step.

The tutorial feeds one scalar per token (its id divided by the vocabulary size) and predicts
one token per 100-token window; here each token is embedded, and every position of the
window predicts the next token, which gives 100 loss terms per window instead of one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

LSTMState = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class ChordLSTMConfig:
    """Architecture of a chord LSTM; `vocab_size` comes from the corpus."""

    vocab_size: int
    embedding_size: int = 128
    hidden_size: int = 256
    layers: int = 2
    dropout: float = 0.2
    dense_size: int = 0  # 0: the head maps LSTM outputs straight to the vocabulary
    batch_norm: bool = False

    def __post_init__(self) -> None:
        for name in ("vocab_size", "embedding_size", "hidden_size", "layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.dense_size < 0:
            raise ValueError(f"dense_size must be 0 or more, got {self.dense_size}")

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, dict] = {
    # The tutorial: 3 x LSTM(512), BatchNorm, Dropout 0.3, Dense(256), BatchNorm, softmax.
    "tutorial": dict(
        embedding_size=128, hidden_size=512, layers=3, dropout=0.3, dense_size=256, batch_norm=True
    ),
    # Chosen by measurement on this project's 2-core CPU (benchmarks/RESULTS.md).
    "default": dict(embedding_size=128, hidden_size=256, layers=2, dropout=0.2),
    # For tests and quick demonstrations.
    "tiny": dict(embedding_size=16, hidden_size=32, layers=1, dropout=0.0),
    # The stateful melody LSTM of `cadenza demo butterfly`: one LSTM(128) over note symbols.
    "melody": dict(embedding_size=16, hidden_size=128, layers=1, dropout=0.0),
}


class ChordLSTM(nn.Module):
    """Embedding -> stacked LSTM -> (BatchNorm, Dropout, Dense, BatchNorm) -> vocabulary logits."""

    def __init__(self, config: ChordLSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.lstm = nn.LSTM(
            config.embedding_size,
            config.hidden_size,
            num_layers=config.layers,
            dropout=config.dropout if config.layers > 1 else 0.0,
            batch_first=True,
        )
        head: list[nn.Module] = []
        width = config.hidden_size
        if config.batch_norm:
            head.append(nn.BatchNorm1d(width))
        head.append(nn.Dropout(config.dropout))
        if config.dense_size:
            head += [nn.Linear(width, config.dense_size), nn.ReLU()]
            width = config.dense_size
            if config.batch_norm:
                head.append(nn.BatchNorm1d(width))
            head.append(nn.Dropout(config.dropout))
        head.append(nn.Linear(width, config.vocab_size))
        self.head = nn.Sequential(*head)

    def forward(
        self,
        tokens: torch.Tensor,
        targets: torch.Tensor | None = None,
        state: LSTMState | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, LSTMState]:
        """Logits for the token after each position; loss when targets are given."""
        B, T = tokens.shape
        hidden, state = self.lstm(self.embedding(tokens), state)  # (B, T, H)
        logits = self.head(hidden.reshape(B * T, -1)).view(B, T, -1)  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))
        return logits, loss, state
