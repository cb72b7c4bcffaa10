"""`cadenza evaluate RUN --frames-nll` on a frame-notes run: the exact test NLL per frame.

A frame-notes piece spells each frame as its sounding keys, low to high, then Frame
(representations/frame_notes.py). At every position the model's logits are masked by that
grammar before the softmax: at a frame's first position any key or Frame (an empty frame);
after Key_k only a higher key or Frame; after the highest key only Frame; START never (the
piece goes on, as the `frames` figure assumes too). A frame is then one path through a tree
whose every node is a normalized distribution, so

    log p(frame | past) = sum over the frame's tokens (its keys, then Frame) of
                          log softmax(masked logits)[token]

and p sums to 1 over all 2^keys frames (2^88 for a frame dataset): no mixture, no smoothing,
and a frame never seen in training still gets a finite cost from the model itself. The
figure is the mean over all test frames (each frame of each test sequence once; the first
predicted from START); beside it, the independent-Bernoulli baseline on the same frames.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from cadenza.bundle import Bundle
from cadenza.corpus.store import Corpus
from cadenza.errors import CadenzaError
from cadenza.evaluation.frames_nll import (
    bernoulli_key_probabilities,
    bernoulli_log_probs,
    piece_batches,
)
from cadenza.representations.frame_notes import FRAME, FrameNotesGrammar, key_pitch
from cadenza.representations.frames import START

BATCH_LOGITS = 1 << 24  # logits per batch of pieces (128 MiB of float64)
RULE = (
    "log p(frame) = sum of the log-probabilities of its key tokens (low to high) and of "
    "Frame, the logits masked at each step to the keys above the previous key of the frame "
    "and Frame (START never): a distribution over all 2^keys frames"
)


@torch.inference_mode()
def token_log_probs(model, pieces: list[np.ndarray], follows: torch.Tensor) -> list[np.ndarray]:
    """Per piece, log p of each token after its first, the logits masked by `follows`
    ((V, V) bool, row = previous id) before the softmax."""
    results: list[np.ndarray] = [np.zeros(0)] * len(pieces)
    for indices in piece_batches(pieces, len(follows), BATCH_LOGITS):
        batch = [pieces[i] for i in indices]
        longest = max(len(p) for p in batch) - 1
        inputs = torch.zeros(len(batch), longest, dtype=torch.int64)  # (B, T), padded at the end
        for row, piece in enumerate(batch):
            inputs[row, : len(piece) - 1] = torch.from_numpy(piece[:-1].astype(np.int64))
        logits = model(inputs)[0].double()  # (B, T, V)
        log_probs = logits.masked_fill(~follows[inputs], -math.inf).log_softmax(-1)  # (B, T, V)
        for row, piece in enumerate(batch):
            targets = torch.from_numpy(piece[1:].astype(np.int64))
            results[indices[row]] = log_probs[row, torch.arange(len(targets)), targets].numpy()
    return results


def frame_sums(values: np.ndarray, targets: np.ndarray, is_frame: np.ndarray) -> np.ndarray:
    """Per frame, the sum of `values` over its tokens (`targets`: the ids after START, each
    frame closed by a Frame id)."""
    ends = is_frame[targets]
    frame_of = np.cumsum(ends) - ends  # the frame each token belongs to
    return np.bincount(frame_of, weights=values, minlength=int(ends.sum()))


def frame_log_probs(model, pieces: list[np.ndarray], tokens: list[str]) -> np.ndarray:
    """log p(frame | past) of every frame of `pieces` (id arrays over `tokens`, each opening
    with START and closed by Frame), flat, pieces in order."""
    grammar = FrameNotesGrammar(tokens)
    follows = grammar.follows(within_piece=True)
    is_frame = grammar.is_frame.numpy()
    sums = [
        frame_sums(values, piece[1:].astype(np.int64), is_frame)
        for values, piece in zip(token_log_probs(model, pieces, follows), pieces, strict=True)
    ]
    return np.concatenate(sums) if sums else np.zeros(0)


def split_pieces(corpus: Corpus, split: str) -> list[np.ndarray]:
    """The pieces of a split, checked: START, whole frames, keys rising within each."""
    tokens = corpus.vocabulary.tokens
    follows = FrameNotesGrammar(tokens).follows(within_piece=True).numpy()
    start, frame = corpus.vocabulary.index[START], corpus.vocabulary.index[FRAME]
    pieces = [np.asarray(corpus.piece(i), dtype=np.int64) for i in corpus.piece_indices(split)]
    for number, piece in enumerate(pieces):
        if len(piece) < 2 or piece[0] != start or piece[-1] != frame:
            raise CadenzaError(
                f"{corpus.folder}: {split} piece {number} does not open with START and end "
                "with a whole frame"
            )
        if not follows[piece[:-1], piece[1:]].all():
            raise CadenzaError(
                f"{corpus.folder}: {split} piece {number} breaks the frame-notes grammar "
                "(keys rising within a frame)"
            )
    return pieces


def key_matrix(pieces: list[np.ndarray], tokens: list[str]) -> np.ndarray:
    """(frames, keys) booleans of every frame of `pieces`, keys in the vocabulary's own order."""
    key_of = np.array([-1 if key_pitch(t) is None else 0 for t in tokens])
    key_of[key_of == 0] = np.arange((key_of == 0).sum())
    is_frame = np.array([t == FRAME for t in tokens])
    rows = []
    for piece in pieces:
        targets = piece[1:]
        ends = is_frame[targets]
        matrix = np.zeros((int(ends.sum()), int((key_of >= 0).sum())), dtype=bool)
        frame_of = np.cumsum(ends) - ends
        keys = key_of[targets] >= 0
        matrix[frame_of[keys], key_of[targets][keys]] = True
        rows.append(matrix)
    return np.concatenate(rows)


def evaluate_frame_notes(bundle: Bundle, corpus: Corpus) -> dict:
    """The exact test NLL per frame of a frame-notes run, with the Bernoulli baseline."""
    tokens = corpus.vocabulary.tokens
    pieces = {split: split_pieces(corpus, split) for split in ("train", "validation", "test")}
    model = {split: frame_log_probs(bundle.model, pieces[split], tokens)
             for split in ("validation", "test")}  # fmt: skip
    training = key_matrix(pieces["train"], tokens)
    probabilities = bernoulli_key_probabilities(training.sum(0), len(training))
    bernoulli = bernoulli_log_probs(key_matrix(pieces["test"], tokens), probabilities)
    test_tokens = sum(len(p) - 1 for p in pieces["test"])
    return {
        "method": "exact",
        "test_nll": float(-model["test"].mean()),
        "test_nll_per_token": float(-model["test"].sum() / test_tokens),
        "test_bernoulli_nll": float(-bernoulli.mean()),
        "validation_nll": float(-model["validation"].mean()),
        "validation_frames": len(model["validation"]),
        "test_sequences": len(pieces["test"]),
        "test_frames": len(model["test"]),
        "test_tokens": test_tokens,
        "keys": int(training.shape[1]),
        "training_frames": len(training),
        "model": bundle.run_config.model_name,
        "rule": RULE,
    }


def format_frame_notes_nll(result: dict) -> str:
    """The exact figure, its baseline and its rule, for the terminal."""
    return "\n".join([
        f"test NLL per frame: {result['test_nll']:.4f} nats ({result['model']} on frame-notes, "
        f"exact: no mixture)",
        f"  Bernoulli keys alone: {result['test_bernoulli_nll']:.4f} nats per frame",
        f"  test: {result['test_sequences']:,} sequences, {result['test_frames']:,} frames, "
        f"{result['test_tokens']:,} tokens ({result['test_nll_per_token']:.4f} nats per token)",
        f"  validation: {result['validation_frames']:,} frames, NLL "
        f"{result['validation_nll']:.4f} nats per frame",
        f"  rule: {result['rule']} ({result['keys']} keys)",
        f"  training: {result['training_frames']:,} frames",
    ])  # fmt: skip
