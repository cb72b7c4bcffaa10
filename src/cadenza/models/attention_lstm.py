"""`attention-lstm`: pitch and duration in, an LSTM with attention, two softmax heads out
(Generative Deep Learning, chapter 7), trained with a target at every step.

Attention is additive over the LSTM's hidden states: each state h_s gets a score
e_s = tanh(w . h_s + b); the prediction at step t reads the context
c_t = sum_s softmax(e)_s h_s over the states s <= t of its window (the book scores a whole
window for its last step; a causal mask gives every step of the window its own target).
While generating, the scores and states of the last `attention_span` steps are carried
in the state, so each new event still costs one LSTM step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

# (LSTM (h, c), attention memory: scores (B, M), hidden states (B, M, H))
AttentionState = tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class AttentionLSTMConfig:
    """Architecture of an attention LSTM; the two vocabulary sizes come from the corpus."""

    pitch_vocab_size: int
    duration_vocab_size: int
    embedding_size: int = 100
    hidden_size: int = 256
    layers: int = 2
    dropout: float = 0.2
    attention_span: int = 32

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name != "dropout" and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, dict] = {
    # The book's sizes: embeddings of 100, LSTM 256.
    "default": dict(embedding_size=100, hidden_size=256, layers=2, dropout=0.2),
    "tiny": dict(embedding_size=16, hidden_size=32, layers=1, dropout=0.0, attention_span=16),
}


class AttentionLSTM(nn.Module):
    """(pitch, duration) ids -> logits for the next pitch and the next duration."""

    def __init__(self, config: AttentionLSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.pitch_embedding = nn.Embedding(config.pitch_vocab_size, config.embedding_size)
        self.duration_embedding = nn.Embedding(config.duration_vocab_size, config.embedding_size)
        self.lstm = nn.LSTM(
            2 * config.embedding_size,
            config.hidden_size,
            num_layers=config.layers,
            dropout=config.dropout if config.layers > 1 else 0.0,
            batch_first=True,
        )
        self.score = nn.Linear(config.hidden_size, 1)
        self.dropout = nn.Dropout(config.dropout)
        self.pitch_head = nn.Linear(config.hidden_size, config.pitch_vocab_size)
        self.duration_head = nn.Linear(config.hidden_size, config.duration_vocab_size)
        self.last_attention: torch.Tensor | None = None  # (B, T, M + T), for pictures

    def forward(
        self,
        tokens: torch.Tensor,
        targets: torch.Tensor | None = None,
        state: AttentionState | None = None,
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor | None, AttentionState]:
        """tokens (B, T, 2) of (pitch id, duration id) -> ((B, T, Vp), (B, T, Vd)) logits."""
        T = tokens.shape[1]
        embedded = torch.cat(
            [self.pitch_embedding(tokens[..., 0]), self.duration_embedding(tokens[..., 1])], -1
        )  # (B, T, 2E)
        lstm_state, memory = (None, None) if state is None else state
        hidden, lstm_state = self.lstm(embedded, lstm_state)  # (B, T, H)
        scores = torch.tanh(self.score(hidden)).squeeze(-1)  # (B, T)
        if memory is not None:
            scores = torch.cat([memory[0], scores], dim=1)  # (B, M + T)
            hidden = torch.cat([memory[1], hidden], dim=1)  # (B, M + T, H)
        weights = self._causal_weights(scores, T)  # (B, T, M + T)
        context = self.dropout(weights @ hidden)  # (B, T, H)
        self.last_attention = weights.detach()
        logits = (self.pitch_head(context), self.duration_head(context))
        span = self.config.attention_span
        new_state = (lstm_state, (scores[:, -span:].detach(), hidden[:, -span:].detach()))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits[0].flatten(0, 1), targets[..., 0].flatten()) + (
                F.cross_entropy(logits[1].flatten(0, 1), targets[..., 1].flatten())
            )
        return logits, loss, new_state

    def _causal_weights(self, scores: torch.Tensor, steps: int) -> torch.Tensor:
        """Softmax of the scores over the keys each of the last `steps` queries may see."""
        keys = scores.shape[1]
        query = torch.arange(keys - steps, keys, device=scores.device)[:, None]  # (T, 1)
        key = torch.arange(keys, device=scores.device)[None, :]  # (1, K)
        visible = (key <= query) & (key > query - self.config.attention_span)  # (T, K)
        masked = scores[:, None, :].masked_fill(~visible, float("-inf"))  # (B, T, K)
        return torch.softmax(masked, dim=-1)
