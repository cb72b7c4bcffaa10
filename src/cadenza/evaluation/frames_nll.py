"""`cadenza evaluate RUN --frames-nll`: the test negative log-likelihood per frame, in nats.

The figure the polyphonic-music literature reports for frame datasets. Every test frame
must get a finite cost, so the model is mixed with an independent-Bernoulli model:

    p(frame | past) = (1 - w) p_model(frame | past) + w p_bernoulli(frame)

- p_model: the model's softmax renormalized over the frames seen in training (START left
  out, which amounts to conditioning on "the piece goes on"); a frame never seen in
  training gets nothing from the model.
- p_bernoulli: the 88 keys independent, key k on with probability (n_k + 1) / (N + 2),
  counted over the N training frames (Laplace smoothing: no key has probability 0 or 1).
- w: the weight that minimizes the validation NLL. The NLL is convex in w, so a
  golden-section search over log10 w in [-6, 0] finds it; the test split is never used.
Both parts are distributions over all 2^88 frames, so their mixture is one too. The figure
is the mean over all test frames (every frame of every test sequence counts once); the
first frame of a sequence is predicted from START.

A frame-notes run (each frame spelled as its keys, then Frame) needs none of this: its figure
is exact (evaluation/frame_notes_nll.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from cadenza.atomic import write_text_atomic
from cadenza.bundle import Bundle, load_bundle
from cadenza.corpus.store import Corpus
from cadenza.errors import CadenzaError
from cadenza.evaluation.corpus import find_run_corpus
from cadenza.models import model_kind
from cadenza.representations import REPRESENTATIONS
from cadenza.representations.frames import START, frame_matrix

SEARCH_RANGE = (-6.0, 0.0)  # log10 of the mixture weight
SEARCH_STEPS = 60  # golden-section steps: the bracket shrinks to 6 * 0.618**60, about 1e-12
BATCH_LOGITS = 1 << 25  # logits per batch of pieces (128 MiB of float32)


def bernoulli_key_probabilities(key_counts: np.ndarray, frames: int) -> np.ndarray:
    """P(key on) per key, Laplace-smoothed: (count + 1) / (frames + 2)."""
    return (key_counts + 1.0) / (frames + 2.0)


def bernoulli_log_probs(matrix: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """log p(frame) = sum_k x_k log q_k + (1 - x_k) log(1 - q_k), per row of (N, 88) frames."""
    on, off = np.log(probabilities), np.log1p(-probabilities)
    return matrix.astype(np.float64) @ (on - off) + off.sum()


def mixture_nll(model: np.ndarray, bernoulli: np.ndarray, weight: float) -> float:
    """Mean of -log((1 - w) exp(model) + w exp(bernoulli)) over frames, in nats."""
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer at w = 0 or 1
        mixed = np.logaddexp(np.log1p(-weight) + model, np.log(weight) + bernoulli)
    return float(-mixed.mean())


def choose_weight(model: np.ndarray, bernoulli: np.ndarray) -> float:
    """The mixture weight in [1e-6, 1] with the lowest NLL (golden section on log10 w)."""
    low, high = SEARCH_RANGE
    ratio = (math.sqrt(5) - 1) / 2

    def cost(exponent: float) -> float:
        return mixture_nll(model, bernoulli, 10.0**exponent)

    left, right = high - ratio * (high - low), low + ratio * (high - low)
    left_cost, right_cost = cost(left), cost(right)
    for _ in range(SEARCH_STEPS):
        if left_cost <= right_cost:
            high, right, right_cost = right, left, left_cost
            left = high - ratio * (high - low)
            left_cost = cost(left)
        else:
            low, left, left_cost = left, right, right_cost
            right = low + ratio * (high - low)
            right_cost = cost(right)
    candidates = [(cost(SEARCH_RANGE[0]), SEARCH_RANGE[0]), (cost(SEARCH_RANGE[1]), 0.0),
                  (min(left_cost, right_cost), (low + high) / 2)]  # fmt: skip
    return 10.0 ** min(candidates)[1]


@torch.inference_mode()
def model_log_probs(bundle: Bundle, pieces: list[np.ndarray], seen: np.ndarray) -> np.ndarray:
    """log p_model of each frame after the first token (START) of each piece, renormalized
    over the `seen` token ids; -inf for a frame outside them. Flat, pieces in order."""
    results: list[np.ndarray] = [np.zeros(0)] * len(pieces)
    blocked = torch.from_numpy(~seen)
    for indices in piece_batches(pieces, len(seen)):
        batch = [pieces[i] for i in indices]
        longest = max(len(p) for p in batch) - 1
        inputs = torch.zeros(len(batch), longest, dtype=torch.int64)  # (B, T), padded at the end
        for row, piece in enumerate(batch):
            inputs[row, : len(piece) - 1] = torch.from_numpy(piece[:-1].astype(np.int64))
        logits = bundle.model(inputs)[0].float()  # (B, T, V)
        log_probs = logits.masked_fill(blocked, -math.inf).log_softmax(-1)
        for row, piece in enumerate(batch):
            targets = torch.from_numpy(piece[1:].astype(np.int64))
            steps = torch.arange(len(targets))
            results[indices[row]] = log_probs[row, steps, targets].double().numpy()
    return np.concatenate(results) if results else np.zeros(0)


def piece_batches(
    pieces: list[np.ndarray], vocab_size: int, limit: int = BATCH_LOGITS
) -> list[list[int]]:
    """Piece indices in batches of similar length, each within `limit` logits."""
    batches: list[list[int]] = [[]]
    for index in sorted(range(len(pieces)), key=lambda i: len(pieces[i])):
        if batches[-1] and (len(batches[-1]) + 1) * len(pieces[index]) * vocab_size > limit:
            batches.append([])
        batches[-1].append(index)
    return [batch for batch in batches if batch]


def _split_pieces(corpus: Corpus, split: str) -> list[np.ndarray]:
    pieces = [np.asarray(corpus.piece(i)) for i in corpus.piece_indices(split)]
    start = corpus.vocabulary.index[START]
    if any(len(p) < 2 or p[0] != start for p in pieces):
        raise CadenzaError(f"{corpus.folder}: a {split} piece does not open with START and a frame")
    return pieces


def _open(run: str | Path, corpus_folder: str | Path | None) -> tuple[Bundle, Corpus]:
    bundle = load_bundle(run)
    corpus = Corpus(corpus_folder or find_run_corpus(bundle))
    if corpus.manifest["corpus_hash"] != bundle.run_config.corpus_hash:
        raise CadenzaError(
            f"{corpus.folder}: not the corpus {run} was trained on, so its test split may hold "
            "training pieces"
        )
    representation = corpus.vocabulary.representation
    encodes_frames = hasattr(REPRESENTATIONS.get(representation), "frame_tokens")
    if not encodes_frames or START not in corpus.vocabulary:
        raise CadenzaError(
            f"{corpus.folder}: --frames-nll needs a corpus of frames or frame-notes (prepare a "
            f".npz, .mat or .pickle frame dataset), not {representation!r}"
        )
    kind = model_kind(bundle.run_config.model_name)
    if kind.pairs or kind.makes_phrases:
        raise CadenzaError(f"{run}: --frames-nll needs a one-token-per-step model")
    if not len(corpus.piece_indices("test")):
        from_scores = corpus.manifest["settings"].get("parser") not in ("npz", "mat", "pickle")
        raise CadenzaError(
            f"{corpus.folder}: has no test pieces to score"
            + (" (it was prepared from score files, which have no test split; prepare a .npz, "
               ".mat or .pickle frame dataset)" if from_scores else "")
        )  # fmt: skip
    return bundle, corpus


def evaluate_frames(run: str | Path, corpus_folder: str | Path | None = None) -> dict:
    """The test NLL per frame with its rule (RUN/frames-nll.json): exact for a frame-notes
    run, the Bernoulli mixture for a frames one."""
    bundle, corpus = _open(run, corpus_folder)
    # A representation that spells a frame over several tokens (`frames_of` reads them back)
    # has a grammar over them that makes the figure exact; one token per frame needs the mixture.
    if hasattr(REPRESENTATIONS[corpus.vocabulary.representation], "frames_of"):
        from cadenza.evaluation.frame_notes_nll import evaluate_frame_notes

        result = evaluate_frame_notes(bundle, corpus)
    else:
        result = _mixture_frames_nll(bundle, corpus)
    write_text_atomic(Path(run) / "frames-nll.json", json.dumps(result, indent=1))
    return result


def _mixture_frames_nll(bundle: Bundle, corpus: Corpus) -> dict:
    """The mixture's test NLL per frame, the chosen weight and the Bernoulli baseline."""
    tokens = corpus.vocabulary.tokens
    matrix = frame_matrix(tokens)  # (V, 88)
    counts = np.zeros(len(tokens), np.int64)
    for piece in _split_pieces(corpus, "train"):
        counts += np.bincount(piece[1:], minlength=len(tokens))
    seen = counts > 0
    training_frames = int(counts.sum())
    probabilities = bernoulli_key_probabilities(counts @ matrix, training_frames)
    bernoulli_by_token = bernoulli_log_probs(matrix, probabilities)  # (V,)
    parts = {}
    for split in ("validation", "test"):
        pieces = _split_pieces(corpus, split)
        targets = np.concatenate([p[1:] for p in pieces]).astype(np.int64)
        model = model_log_probs(bundle, pieces, seen)
        parts[split] = (model, bernoulli_by_token[targets], len(pieces), ~seen[targets])
    weight = choose_weight(*parts["validation"][:2])
    model, bernoulli, sequences, unseen = parts["test"]
    result = {
        "test_nll": mixture_nll(model, bernoulli, weight),
        "test_bernoulli_nll": mixture_nll(model, bernoulli, 1.0),
        "test_model_nll_on_seen_frames": float(-model[~unseen].mean()) if (~unseen).any() else None,
        "weight": weight,
        "validation_nll": mixture_nll(*parts["validation"][:2], weight),
        "validation_frames": len(parts["validation"][0]),
        "validation_unseen_frames": int(parts["validation"][3].sum()),
        "test_sequences": sequences,
        "test_frames": len(model),
        "test_unseen_frames": int(unseen.sum()),
        "training_frames": training_frames,
        "distinct_training_frames": int(seen.sum()),
        "model": bundle.run_config.model_name,
        "rule": "p = (1 - w) p_model + w p_bernoulli; p_model renormalized over the frames "
        "seen in training (0 for others); p_bernoulli: independent keys, P(on) = (count + 1) "
        "/ (training frames + 2); w minimizes the validation NLL",
    }
    return result


def format_frames_nll(result: dict) -> str:
    """The figure, its baseline and its rule, for the terminal."""
    if result.get("method") == "exact":
        from cadenza.evaluation.frame_notes_nll import format_frame_notes_nll

        return format_frame_notes_nll(result)
    unseen, frames = result["test_unseen_frames"], result["test_frames"]
    seen_nll = result["test_model_nll_on_seen_frames"]
    return "\n".join([
        f"test NLL per frame: {result['test_nll']:.4f} nats ({result['model']} mixed with "
        f"independent Bernoulli keys, weight w = {result['weight']:.3g})",
        f"  Bernoulli keys alone: {result['test_bernoulli_nll']:.4f} nats per frame",
        f"  test: {result['test_sequences']:,} sequences, {frames:,} frames; {unseen:,} "
        f"({unseen / frames:.1%}) never seen in training get only w * p_bernoulli",
        "  the model alone on the other test frames: "
        + (f"{seen_nll:.4f} nats per frame" if seen_nll is not None else "none"),
        f"  w chosen on validation ({result['validation_frames']:,} frames, "
        f"{result['validation_unseen_frames']:,} unseen): NLL {result['validation_nll']:.4f}",
        f"  rule: {result['rule']}",
        f"  training: {result['training_frames']:,} frames, "
        f"{result['distinct_training_frames']:,} distinct",
    ])  # fmt: skip
