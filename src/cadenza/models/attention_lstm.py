"""`attention-lstm`: pitch and duration in, an LSTM with attention, two softmax heads out
(Generative Deep Learning, chapter 7), trained with a target at every step.

Attention is additive over the LSTM's hidden states: each state h_s gets a score
e_s = tanh(w . h_s + b); the prediction at step t reads the context
c_t = sum_s softmax(e)_s h_s over the states s <= t of its window (the book scores a whole
window for its last step; a causal mask gives every step of the window its own target).
While generating, the scores and states of the last `attention_span` steps are carried
in the state, so each new event still costs one LSTM step.

With `compose_pitches` (the default preset), a pitch token is also seen through the MIDI
pitches it holds: its embedding adds the embeddings of its pitches, and its logit is a bias
plus a score per member pitch, one for its number of pitches and one for repeating the
current token. The head is still one softmax over the pitch tokens, but a chord voicing
that is rare or absent in training gets a probability from pitches that are not:
chordified chorales have thousands of voicings, most seen a few times.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

MIDI_PITCHES = 128
MAX_CHORD_SIZE = 8  # larger chords share the size score of 8
CARRY_REACH = 12  # semitones a sounding pitch reaches into the next event's scores

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
    compose_pitches: bool = False

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name not in ("dropout", "compose_pitches") and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, dict] = {
    # The book's sizes: embeddings of 100, LSTM 256.
    "default": dict(
        embedding_size=100, hidden_size=256, layers=2, dropout=0.2, compose_pitches=True
    ),
    # The book's network as it is: one embedding and one logit per pitch token.
    "book": dict(embedding_size=100, hidden_size=256, layers=2, dropout=0.2),
    "tiny": dict(
        embedding_size=16,
        hidden_size=32,
        layers=1,
        dropout=0.0,
        attention_span=16,
        compose_pitches=True,
    ),
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
        if config.compose_pitches:
            self.pitch_bias = nn.Parameter(torch.zeros(config.pitch_vocab_size))
        else:
            self.pitch_head = nn.Linear(config.hidden_size, config.pitch_vocab_size)
        self.duration_head = nn.Linear(config.hidden_size, config.duration_vocab_size)
        self.last_attention: torch.Tensor | None = None  # (B, T, M + T), for pictures
        if config.compose_pitches:
            # Which MIDI pitches each pitch token holds; filled from the vocabulary by
            # `set_pitch_sets` before training, and saved with the weights (as bytes: 0.75 MB
            # for 5,876 voicings, where floats would take 3 MB of the bundle).
            sets = torch.zeros(config.pitch_vocab_size, MIDI_PITCHES, dtype=torch.uint8)
            self.register_buffer("pitch_sets", sets)
            self.member_embedding = nn.Linear(MIDI_PITCHES, config.embedding_size, bias=False)
            self.member_head = nn.Linear(config.hidden_size, MIDI_PITCHES)
            self.size_head = nn.Linear(config.hidden_size, MAX_CHORD_SIZE + 1)
            # A score for repeating the current token exactly: the per-pitch scores alone
            # would favour the voicing sounding now above every change of one voice.
            self.repeat_head = nn.Linear(config.hidden_size, 1)
            # Per step, a kernel over pitch intervals that carries the pitches sounding now
            # into the scores of the next ones (held voices, steps and leaps).
            self.carry_head = nn.Linear(config.hidden_size, 2 * CARRY_REACH + 1)

    def set_pitch_sets(self, pitch_sets: list[list[int]]) -> None:
        """Tell a `compose_pitches` model the MIDI pitches of each pitch token, in id order."""
        if len(pitch_sets) != self.config.pitch_vocab_size:
            raise ValueError(
                f"{len(pitch_sets)} pitch sets for {self.config.pitch_vocab_size} pitch tokens"
            )
        matrix = torch.zeros_like(self.pitch_sets)
        for index, pitches in enumerate(pitch_sets):
            matrix[index, pitches] = 1.0
        self.pitch_sets.copy_(matrix)
        self.__dict__["_sets_cache"] = None

    def _sets(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """The pitch sets as numbers, and each token's size. In eval mode they are kept
        (converting 5,876 x 128 bytes at every generated step doubled its cost) until the
        weights are loaded again or the mode changes."""
        cached = self.__dict__.get("_sets_cache")
        if cached is not None and cached[0].dtype == dtype and not self.training:
            return cached
        sizes = self.pitch_sets.sum(1).clamp(max=MAX_CHORD_SIZE).long()
        result = (self.pitch_sets.to(dtype), sizes)
        self.__dict__["_sets_cache"] = None if self.training else result
        return result

    def train(self, mode: bool = True) -> AttentionLSTM:
        self.__dict__["_sets_cache"] = None
        return super().train(mode)

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self.__dict__["_sets_cache"] = None
        super()._load_from_state_dict(*args, **kwargs)

    def _pitch_embedding(self, ids: torch.Tensor) -> torch.Tensor:
        embedded = self.pitch_embedding(ids)  # (B, T, E)
        if self.config.compose_pitches:
            members = self._sets(embedded.dtype)[0][ids]  # (B, T, P)
            embedded = embedded + self.member_embedding(members)
        return embedded

    def _pitch_logits(self, context: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        """Next-pitch logits from the context and the current pitch ids (B, T)."""
        if self.config.compose_pitches:
            logits = self.pitch_bias  # (Vp,): how common each token is; the rest from its pitches
            sets, sizes = self._sets(context.dtype)  # (Vp, P), (Vp,)
            sounding = F.pad(sets[current], (CARRY_REACH, CARRY_REACH))  # (B, T, P+2R)
            windows = sounding.unfold(-1, 2 * CARRY_REACH + 1, 1)  # (B, T, P, 2R+1)
            kernel = self.carry_head(context).flip(-1)  # (B, T, 2R+1), by interval to the next
            carried = (windows * kernel[..., None, :]).sum(-1)  # (B, T, P)
            members = (self.member_head(context) + carried) @ sets.T  # (B, T, Vp)
            logits = logits + members + self.size_head(context)[..., sizes]
            ids = torch.arange(logits.shape[-1], device=logits.device)
            same = (ids == current[..., None]).to(logits.dtype)  # (B, T, Vp): the current token
            return logits + same * self.repeat_head(context)
        return self.pitch_head(context)  # (B, T, Vp)

    def forward(
        self,
        tokens: torch.Tensor,
        targets: torch.Tensor | None = None,
        state: AttentionState | None = None,
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor | None, AttentionState]:
        """tokens (B, T, 2) of (pitch id, duration id) -> ((B, T, Vp), (B, T, Vd)) logits."""
        T = tokens.shape[1]
        embedded = torch.cat(
            [self._pitch_embedding(tokens[..., 0]), self.duration_embedding(tokens[..., 1])], -1
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
        logits = (self._pitch_logits(context, tokens[..., 0]), self.duration_head(context))
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
