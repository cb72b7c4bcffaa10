"""Token-by-token generation with the LSTM state carried, and the primers it starts from.

A primer is read through the model only as far as the model can use it: its last
`primer_context` tokens (a transformer's context, a recurrent model's training window). A
grammar still follows the whole primer (the header, the meter in force), and so do the
constraints, where the representation has a grammar; without one, a file primer is cut to
those last tokens as soon as it is encoded, so that a huge file costs little more than its
reading.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from cadenza.bundle import Bundle
from cadenza.errors import CadenzaError
from cadenza.generation.constraints import (
    Constraints,
    grammar_options,
    left_to_steering,
    steering_for,
)
from cadenza.generation.sampling import SamplingConfig, sample_next
from cadenza.models import model_kind


@torch.inference_mode()
def generate_ids(
    bundle: Bundle,
    primer: list[int],
    length: int,
    sampling: SamplingConfig,
    generator: torch.Generator,
    constraints: Constraints | None = None,
    grammar=None,
) -> list[int]:
    """`length` new token ids after `primer`; the primer is read once, then one step per token.
    `constraints` mask the logits at every step (generation/constraints.py); so does the
    representation's grammar, or `grammar` when given (already primed: generation/forcing.py)."""
    tokens = bundle.vocabulary.tokens
    rules = grammar_options(bundle, constraints)
    representation = bundle.representation(**rules)
    if not primer and representation.opening_tokens():
        primer = bundle.vocabulary.encode(representation.opening_tokens()).tolist()
    history = [(token,) for token in primer]
    steering = steering_for(
        left_to_steering(constraints, rules), representation, tokens, length, history
    )
    if grammar is None:
        grammar = representation.grammar(tokens)
        for token in primer if grammar is not None else ():
            grammar.push(token)
    with without_onednn():
        return _sample_after(bundle, primer, length, sampling, generator, steering, grammar)


@contextmanager
def without_onednn() -> Iterator[None]:
    """oneDNN speeds up whole windows but makes one-token LSTM steps 2-5x slower on a CPU
    (benchmarks/RESULTS.md), and generation is almost all one-token steps."""
    enabled = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = enabled


def primer_context(bundle: Bundle) -> int:
    """How many of a primer's last tokens the model reads: a transformer's context, else the
    training window (a state carried much further predicts worse: generation/events.py)."""
    steps = getattr(bundle.model, "max_window", None) or bundle.run_config.window
    return steps * max(1, model_kind(bundle.run_config.model_name).tokens_per_step)


def _sample_after(bundle, primer, length, sampling, generator, steering, grammar) -> list[int]:
    model = bundle.model
    if primer:
        read = primer[-primer_context(bundle) :]
        logits, _, state = model(torch.tensor([read]))  # (1, P, V), P <= the context
        last = logits[0, -1]
    else:  # no primer: the first token follows the training data's token frequencies
        counts = torch.tensor(bundle.run_config.train_token_counts, dtype=torch.float)
        last, state = torch.log(counts.clamp(min=1e-9)), None
    representation = bundle.representation()
    end = bundle.vocabulary.index.get(representation.end_token or "", -1)
    produced, unread = [], []  # unread: chosen, not yet read by the model
    while len(produced) < length:
        allowed = _allowed(steering, grammar, len(produced))
        forced = allowed is not None and int(allowed.sum()) == 1
        if unread and not forced:
            logits, _, state = model(torch.tensor([unread]), state=state)  # (1, U, V)
            last, unread = logits[0, -1], []
        # A token that the grammar forces (a given note, a bar line) needs no logits: runs of
        # them are read in one pass, as the cache reads any chunk (harmonize: a quarter of
        # the tokens).
        token = (
            int(allowed.nonzero()[0])
            if forced
            else sample_next(last, sampling, generator, allowed, kept=end)
        )
        produced.append(token)
        unread.append(token)
        if steering:
            steering.push((token,))
        if grammar is not None:
            grammar.push(token)
        if token == end or getattr(grammar, "finished", False):  # the piece (or part) is over
            break
    return produced


def _allowed(steering, grammar, step: int) -> torch.Tensor | None:
    """The tokens step `step` may take: the constraints' and the grammar's masks together."""
    allowed = steering.first_allowed(step) if steering else None
    if grammar is None:
        return allowed
    syntax = torch.as_tensor(grammar.allowed(), dtype=torch.bool)
    if allowed is None:
        return syntax
    together = allowed & syntax
    return together if bool(together.any()) else syntax  # the syntax always wins


def primer_ids(
    bundle: Bundle, primer: str, generator: torch.Generator, tune: int | None = None
) -> list[int]:
    """The primer: "random" (a training window), "none", or a MIDI / MusicXML file's tokens
    (tune `tune` of an ABC file of several)."""
    if primer == "none":
        return []
    if primer == "random":
        primers = bundle.training_primers("--primer random")
        index = int(torch.randint(len(primers), (1,), generator=generator))
        return primers[index].tolist()
    return file_primer_ids(bundle, Path(primer), tune)


def file_primer_ids(bundle: Bundle, path: Path, tune: int | None = None) -> list[int]:
    """A score file's tokens, each unknown token replaced by the nearest known one (warned)."""
    from cadenza.music.io import read_score
    from cadenza.music.tracks import TrackPolicy, TrackPolicyError, apply_track_policy

    encoder = bundle.representation()
    try:
        policy = TrackPolicy(separate=bool(getattr(encoder, "keeps_tracks", False)))
        score, _ = apply_track_policy(read_score(path, tune), policy)
    except TrackPolicyError as error:
        raise CadenzaError(f"{path}: cannot be a primer: {error.reason}") from None
    tokens = encoder.primer_tokens(encoder.encode(score))  # a primer goes on: it does not end
    if not tokens:
        raise CadenzaError(f"{path}: the primer has no notes")
    vocabulary = bundle.vocabulary
    if encoder.grammar(vocabulary.tokens) is None:  # a grammar would need the whole piece
        tokens = tokens[-primer_context(bundle) :]  # all that the model reads (module doc)
    unknown = sorted({t for t in tokens if t not in vocabulary})
    if unknown:
        mapping = {t: encoder.nearest_token(t, vocabulary.tokens) for t in unknown}
        shown = ", ".join(f"{t} -> {mapping[t] or 'left out'}" for t in unknown[:8])
        more = f" and {len(unknown) - 8} more" if len(unknown) > 8 else ""
        warnings.warn(
            f"{path}: {len(unknown)} primer tokens are not in the model's vocabulary and were "
            f"replaced by the nearest known ones: {shown}{more}",
            stacklevel=2,
        )
        tokens = [mapping.get(t, t) for t in tokens if mapping.get(t, t) is not None]
    return vocabulary.encode(tokens).tolist()
