"""`transformer`: a decoder-only transformer shaped like GPT-2, with a key/value cache.

Token and learned position embeddings, then pre-norm blocks (LayerNorm -> causal
self-attention -> residual; LayerNorm -> MLP of 4x the width with tanh-GELU -> residual), a
final LayerNorm and an output head tied to the token embedding. The weights map one to one
onto Hugging Face's GPT2LMHeadModel (benchmarks/transformer_speed.py copies them over).

Generation feeds one token at a time with the state: a `KVCache` of every layer's keys and
values and the ids of the tokens they belong to, so each token costs one step. Positions
never pass `context`: when a new token finds the cache full, the model keeps the latest
`3/4 context - 1` tokens it has seen, adds the new one and recomputes the cache over those
`3/4 context` tokens (positions from 0) in one batched pass; the next `context / 4` tokens
are single steps again. A piece of any length can thus be generated with one batched pass
every `context / 4 + 1` tokens, and every logit is exactly what a fresh pass over the tokens
in the cache (`state.tokens`) would give. Inputs longer than the context, or chunks fed with a
state, follow the same rule, as if fed one token at a time.

A one-token step without gradients (generation) takes a shorter path, `_step`: the same
operations on the same numbers, so the same logits bit for bit, on rows (B, C) with less
reshaping, and the weights read from the modules once after each fresh pass rather than at
every step (some 70 look-ups, a tenth of a step); a token costs a sixth less
(benchmarks/RESULTS.md).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class TransformerConfig:
    """Architecture of a decoder-only transformer; `vocab_size` comes from the corpus."""

    vocab_size: int
    context: int = 256  # most positions; the longest training window
    layers: int = 3
    heads: int = 4
    width: int = 160
    dropout: float = 0.1  # on the embeddings, the attention weights and each residual branch

    def __post_init__(self) -> None:
        for name in ("vocab_size", "layers", "heads", "width"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.context < 4:
            raise ValueError(f"context must be at least 4, got {self.context}")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} must be a multiple of heads {self.heads}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def kept_after_slide(self) -> int:
        """Tokens in the cache right after it slides: 3/4 of the context."""
        return self.context * 3 // 4

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, dict] = {
    # Chosen by measurement on this project's 2-core CPU (benchmarks/transformer_speed.py
    # --sweep): among the shapes that compose 1,000 tokens in under 1 s on one thread, the
    # lowest validation loss after 80 CPU seconds on the Essen songs (tied with 3 x 128 and
    # 3 x 192; more learnt per step than 3 x 128), 4 layers or more trailing.
    "default": dict(context=256, layers=3, heads=4, width=160, dropout=0.1),
    # For tests and quick demonstrations; the same context, so the same default window.
    "tiny": dict(context=256, layers=2, heads=2, width=32, dropout=0.0),
    # GPT-2 small's shape, for a GPU (train with --window 1024).
    "large": dict(context=1024, layers=12, heads=12, width=768, dropout=0.1),
}


@dataclass(frozen=True)
class KVCache:
    """What a transformer has read: per layer the keys and values of `length` tokens, and
    their ids, oldest first, at positions 0 to length - 1.

    The memory has room for a whole context and later steps write into it in place (a
    concatenation per step took a third of the step's time); a state stays valid after a
    step from it, and a second step from the same state copies the memory first."""

    memory: tuple[torch.Tensor, ...]  # per layer (2, B, heads, context, head width)
    token_memory: torch.Tensor  # (B, context)
    length: int
    written: list[int]  # how far the shared memory is written, by whichever state

    @property
    def tokens(self) -> torch.Tensor:
        return self.token_memory[:, : self.length]  # (B, S)

    @property
    def keys(self) -> tuple[torch.Tensor, ...]:
        return tuple(layer[0, :, :, : self.length] for layer in self.memory)  # (B, heads, S, D)

    @property
    def values(self) -> tuple[torch.Tensor, ...]:
        return tuple(layer[1, :, :, : self.length] for layer in self.memory)

    def writable(self) -> KVCache:
        """This state, or a copy of it where a step from it has already written on."""
        if self.written[0] == self.length:
            return self
        memory = tuple(layer.clone() for layer in self.memory)
        return KVCache(memory, self.token_memory.clone(), self.length, [self.length])


# The layers below are called through F.linear, F.layer_norm and F.dropout on their own
# weights rather than as modules: a generated token is some 20 small operations per block,
# and the modules' call machinery added a quarter to each step (benchmarks/RESULTS.md).


def _linear(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, layer.weight, layer.bias)


def _norm(layer: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, layer.normalized_shape, layer.weight, layer.bias, layer.eps)


class SelfAttention(nn.Module):
    """Causal multi-head self-attention; new queries also see the cached keys."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.heads, self.dropout, self.context = config.heads, config.dropout, config.context
        self.qkv = nn.Linear(config.width, 3 * config.width)
        self.projection = nn.Linear(config.width, config.width)

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor | None, start: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend from `x` (B, T, C) at positions start.. to them and the `start` keys in
        `memory`; return the result and the memory with the new keys and values written."""
        B, T, C = x.shape
        qkv = _linear(self.qkv, x).view(B, T, 3, self.heads, C // self.heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        q, k, v = qkv  # (B, heads, T, C / heads) each
        if memory is None:
            memory = qkv.new_empty(2, B, self.heads, self.context, C // self.heads)
        memory[:, :, :, start : start + T] = qkv[1:].detach()
        mask, causal = None, start == 0
        if start:
            k, v = memory[0, :, :, : start + T], memory[1, :, :, : start + T]
            if T > 1:  # new query i sees every cached key and the new keys up to itself
                mask = torch.ones(T, start + T, dtype=torch.bool, device=x.device).tril(start)
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=dropout, is_causal=causal
        )  # (B, heads, T, C / heads)
        y = _linear(self.projection, y.transpose(1, 2).reshape(B, T, C))  # (B, T, C)
        return F.dropout(y, self.dropout, True) if dropout else y, memory


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(config.width)
        self.attention = SelfAttention(config)
        self.mlp_norm = nn.LayerNorm(config.width)
        self.expand = nn.Linear(config.width, 4 * config.width)
        self.contract = nn.Linear(4 * config.width, config.width)
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None, start: int):
        attended, memory = self.attention.forward(_norm(self.attention_norm, x), memory, start)
        x = x + attended
        hidden = F.gelu(_linear(self.expand, _norm(self.mlp_norm, x)), approximate="tanh")
        y = _linear(self.contract, hidden)  # (B, T, C), from (B, T, 4C)
        if self.training and self.dropout:
            y = F.dropout(y, self.dropout, True)
        return x + y, memory


class _StepTensors(NamedTuple):
    """One block's weights as plain tensors, argument lists ready: a generation step reads
    each once, and reading them through the modules' attributes took a tenth of the step."""

    attention_norm: tuple  # LayerNorm: (normalized shape, weight, bias, eps)
    qkv: tuple[torch.Tensor, torch.Tensor]  # Linear: (weight, bias)
    projection: tuple[torch.Tensor, torch.Tensor]
    mlp_norm: tuple
    expand: tuple[torch.Tensor, torch.Tensor]
    contract: tuple[torch.Tensor, torch.Tensor]
    heads: int

    @classmethod
    def of(cls, block: Block) -> _StepTensors:
        attention = block.attention
        linears = (attention.qkv, attention.projection, block.expand, block.contract)
        qkv, projection, expand, contract = ((layer.weight, layer.bias) for layer in linears)
        attention_norm, mlp_norm = (
            (norm.normalized_shape, norm.weight, norm.bias, norm.eps)
            for norm in (block.attention_norm, block.mlp_norm)
        )
        return cls(attention_norm, qkv, projection, mlp_norm, expand, contract, attention.heads)


def _step_block(block: _StepTensors, x: torch.Tensor, memory: torch.Tensor, start: int):
    """`Block.forward` without dropout or gradients for one new token after `start` cached
    ones, on rows x (B, C): the same operations on the same numbers (the same logits, bit
    for bit), less reshaping; the new key and value are written into `memory`."""
    B, C = x.shape
    qkv = F.linear(torch.layer_norm(x, *block.attention_norm), *block.qkv)  # (B, 3C)
    qkv = qkv.view(B, 3, block.heads, 1, C // block.heads)
    memory[:, :, :, start : start + 1] = qkv[:, 1:].transpose(0, 1)
    keys, values = memory[0, :, :, : start + 1], memory[1, :, :, : start + 1]
    y = F.scaled_dot_product_attention(qkv[:, 0], keys, values)  # (B, heads, 1, C / heads)
    x = x + F.linear(y.reshape(B, C), *block.projection)  # one query: already (B, C)'s order
    hidden = F.gelu(
        F.linear(torch.layer_norm(x, *block.mlp_norm), *block.expand), approximate="tanh"
    )
    return x + F.linear(hidden, *block.contract)  # (B, C), from (B, 4C)


class Transformer(nn.Module):
    """Token ids -> logits for the next token, GPT-2 style, with a key/value cache as state."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.width)
        self.position_embedding = nn.Embedding(config.context, config.width)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.final_norm = nn.LayerNorm(config.width)
        self.apply(self._initialize)
        for block in self.blocks:  # GPT-2: residual branches scaled down by depth
            for layer in (block.attention.projection, block.contract):
                nn.init.normal_(layer.weight, std=0.02 / math.sqrt(2 * config.layers))
        # Read at the first step after each fresh pass (a primer, a slide): every piece starts
        # with one, so a model whose weights were replaced by new tensors is read anew.
        self._step_tensors: tuple[_StepTensors, ...] | None = None

    @staticmethod
    def _initialize(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    @property
    def max_window(self) -> int:
        """The longest window a training step can take."""
        return self.config.context

    def forward(
        self,
        tokens: torch.Tensor,
        targets: torch.Tensor | None = None,
        state: KVCache | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, KVCache]:
        """Logits for the token after each position (B, T, V); loss when targets are given;
        the cache after the last token (the module docstring says how it slides)."""
        B, T = tokens.shape
        if state is None and self.config.context >= T:
            logits, state = self._extend(tokens, None)  # training takes this one pass
        elif state is not None and state.length + T <= self.config.context:
            if T == 1 and not (self.training or torch.is_grad_enabled()):
                logits, state = self._step(tokens, state)  # a generation step
            else:
                logits, state = self._extend(tokens, state)  # the cache has room
        else:
            logits, state = self._read_in_chunks(tokens, state)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))
        return logits, loss, state

    def _read_in_chunks(
        self, tokens: torch.Tensor, state: KVCache | None
    ) -> tuple[torch.Tensor, KVCache]:
        """Read `tokens` after `state`, sliding the cache whenever it is full."""
        pieces, done, T = [], 0, tokens.shape[1]
        while done < T:
            past, prefix = state, tokens[:, :0]
            if state is not None and state.length == self.config.context:
                past, prefix = (
                    None,
                    state.tokens[:, state.length - self.config.kept_after_slide + 1 :],
                )
            room = self.config.context - prefix.shape[1] - (past.length if past else 0)
            count = min(room, T - done)
            chunk = torch.cat([prefix, tokens[:, done : done + count]], dim=1)
            logits, state = self._extend(chunk, past)
            pieces.append(logits[:, prefix.shape[1] :])
            done += count
        return torch.cat(pieces, dim=1), state

    def _extend(self, tokens: torch.Tensor, past: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        """One pass over `tokens` after the cached ones; the cache must have room for them."""
        B, T = tokens.shape
        if past is None:
            self._step_tensors = None  # read again at the next step (see __init__)
            start, memory = 0, [None] * len(self.blocks)
            token_memory = tokens.new_empty(B, self.config.context)
            written = [0]
        else:
            past = past.writable()
            start, memory = past.length, list(past.memory)
            token_memory, written = past.token_memory, past.written
        positions = self.position_embedding.weight[start : start + T]  # (T, C)
        x = F.embedding(tokens, self.token_embedding.weight) + positions  # (B, T, C)
        if self.training and self.config.dropout:
            x = F.dropout(x, self.config.dropout, True)
        for index, block in enumerate(self.blocks):
            x, memory[index] = block.forward(x, memory[index], start)
        logits = F.linear(_norm(self.final_norm, x), self.token_embedding.weight)  # (B, T, V)
        token_memory[:, start : start + T] = tokens
        written[0] = start + T
        return logits, KVCache(tuple(memory), token_memory, start + T, written)

    def _step(self, tokens: torch.Tensor, past: KVCache) -> tuple[torch.Tensor, KVCache]:
        """`_extend` of one token (B, 1) without dropout or gradients, on rows (B, C)."""
        if self._step_tensors is None:
            self._step_tensors = tuple(_StepTensors.of(block) for block in self.blocks)
        past = past.writable()
        start, token_memory = past.length, past.token_memory
        embedding = self.token_embedding.weight
        x = F.embedding(tokens[:, 0], embedding) + self.position_embedding.weight[start]
        for block, memory in zip(self._step_tensors, past.memory, strict=True):
            x = _step_block(block, x, memory, start)  # (B, C)
        norm = self.final_norm
        x = torch.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
        logits = F.linear(x.unsqueeze(1), embedding)  # (B, 1, V)
        token_memory[:, start : start + 1] = tokens
        past.written[0] = start + 1
        return logits, KVCache(past.memory, token_memory, start + 1, past.written)
