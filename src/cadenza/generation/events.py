"""Generation for two-stream models (pitch and duration): one event per step, until END.

The model learned from windows of `window` events that start from a zero state, and its
predictions worsen on a state carried much further than that (measured in
benchmarks/RESULTS.md). So the state is carried step by step for at most `window` events,
then rebuilt from zero over the latest three quarters of a window: each event still costs
one step, plus one short batched pass every quarter window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from cadenza.bundle import Bundle
from cadenza.generation.constraints import Constraints, steering_for
from cadenza.generation.generate import without_onednn
from cadenza.generation.sampling import SamplingConfig, sample_next
from cadenza.representations.pitch_duration import (
    END,
    FRAME_DURATION,
    START,
    pair_lookup,
    pair_vocabularies,
)


@dataclass
class EventTrace:
    """What the model saw and thought while generating, for the pictures."""

    pitch_tokens: list[str]
    probabilities: list[np.ndarray] = field(default_factory=list)  # per step, (Vp,)
    attention: list[np.ndarray] = field(default_factory=list)  # per step, over earlier steps
    primer_steps: int = 0


@torch.inference_mode()
def generate_events(
    bundle: Bundle,
    primer: list[int],
    length: int,
    pitch_sampling: SamplingConfig,
    duration_sampling: SamplingConfig,
    generator: torch.Generator,
    stop_at_end: bool = True,
    constraints: Constraints | None = None,
) -> tuple[list[str], EventTrace]:
    """Up to `length` events (pitch token, duration token, flat) after `primer` (shared-vocabulary
    ids, pairs); stops early when the model chooses END (unless `stop_at_end` is off).
    `constraints` mask the pitch and duration logits at every step (generation/constraints.py)."""
    tokens = bundle.vocabulary.tokens
    pitches, durations = pair_vocabularies(tokens)
    lookup = pair_lookup(tokens)
    representation = bundle.representation()
    if not primer:
        primer = bundle.vocabulary.encode(representation.opening_tokens()).tolist()
    steps = torch.from_numpy(lookup[np.asarray(primer)].reshape(1, -1, 2))  # (1, P, 2)
    trace = EventTrace(pitches, primer_steps=steps.shape[1])
    steering = steering_for(
        constraints, representation, pitches, length,
        [tuple(step) for step in steps[0].tolist()], len(durations), stop_at_end,
    )  # fmt: skip
    produced: list[str] = []
    zero = durations.index(FRAME_DURATION) if FRAME_DURATION in durations else None
    model = bundle.model
    memory = bundle.run_config.window
    history = steps[:, -memory:]  # (1, <= memory, 2): the steps the state was built from
    with without_onednn():
        (pitch_logits, duration_logits), _, state = model(history)
        age = history.shape[1]
        for number in range(length):
            trace.probabilities.append(torch.softmax(pitch_logits[0, -1], -1).numpy())
            trace.attention.append(model.last_attention[0, -1].numpy())
            allowed = steering.first_allowed(number) if steering else None
            pitch = sample_next(pitch_logits[0, -1], pitch_sampling, generator, allowed)
            allowed = steering.second_allowed(pitch) if steering else None
            framing = pitches[pitch] in (START, END)
            allowed = _sounding_length(allowed, zero, len(durations), framing)
            duration = sample_next(duration_logits[0, -1], duration_sampling, generator, allowed)
            if pitches[pitch] == END and stop_at_end:
                break
            produced += [pitches[pitch], durations[duration]]
            if steering:
                steering.push((pitch, duration))
            step = torch.tensor([[[pitch, duration]]])  # (1, 1, 2)
            history = torch.cat([history, step], 1)[:, -memory:]
            if age < memory:
                (pitch_logits, duration_logits), _, state = model(step, state=state)
                age += 1
            else:  # rebuild the state from the latest steps (see the module docstring)
                age = memory - max(1, memory // 4)
                (pitch_logits, duration_logits), _, state = model(history[:, -age:])
    return produced, trace


def _sounding_length(allowed: torch.Tensor | None, zero: int | None, size: int, framing: bool):
    """The duration "0" only frames a piece (START 0, END 0): a note or rest is never given
    it, which would make a note of no length stacked on the next one."""
    if zero is None or framing:
        return allowed
    mask = torch.ones(size, dtype=torch.bool) if allowed is None else allowed.clone()
    mask[zero] = False
    return mask if bool(mask.any()) else allowed
