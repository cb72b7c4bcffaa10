"""Choosing the next token from logits: greedy, temperature, top-k and top-p (nucleus),
after an optional mask of the allowed tokens (generation/constraints.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from cadenza.errors import CadenzaError


@dataclass(frozen=True)
class SamplingConfig:
    """temperature 0 is greedy; top_k 0 and top_p 1 switch those filters off."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.temperature) or self.temperature < 0:
            raise CadenzaError(f"--temperature must be 0 or more, got {self.temperature}")
        if self.top_k < 0:
            raise CadenzaError(f"--top-k must be 0 or more, got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise CadenzaError(f"--top-p must be in (0, 1], got {self.top_p}")


def sample_next(
    logits: torch.Tensor,
    config: SamplingConfig,
    generator: torch.Generator,
    allowed: torch.Tensor | None = None,
    kept: int = -1,
) -> int:
    """One token id from a (V,) vector of logits; `allowed` (V,) bool masks tokens out first,
    so that temperature, top-k and top-p act on the allowed tokens only. Token `kept` (the
    end of the piece) is never cut by top-k or top-p: it keeps its own probability, so a
    piece ends when the model says so (at top-p 0.8, 5 of 10 chorales never ended)."""
    if allowed is not None:
        logits = logits.masked_fill(~allowed, float("-inf"))
    if config.temperature == 0:
        return int(torch.argmax(logits))
    scaled = logits.float()
    if config.temperature != 1:  # dividing by 1 changes no number
        scaled = scaled / config.temperature
    original = scaled
    if config.top_k and config.top_k < scaled.numel():
        threshold = torch.topk(scaled, config.top_k).values[-1]
        scaled = scaled.masked_fill(scaled < threshold, float("-inf"))
    if config.top_p < 1:
        ordered, order = torch.sort(scaled, descending=True)
        cumulative = torch.softmax(ordered, dim=-1).cumsum(dim=-1)
        # drop a token when the tokens before it already reach top_p (the first always stays)
        drop = (cumulative - torch.softmax(ordered, dim=-1)) >= config.top_p
        scaled = scaled.scatter(0, order, ordered.masked_fill(drop, float("-inf")))
    if kept >= 0 and scaled is not original:  # a filter ran (else nothing to restore)
        scaled[kept] = original[kept]
    probabilities = torch.softmax(scaled, dim=-1)
    return int(torch.multinomial(probabilities, 1, generator=generator))
