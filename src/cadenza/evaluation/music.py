"""`cadenza evaluate RUN --pieces N`: the music a model makes, judged against its training data.

1. N pieces are generated from nothing (chord-lstm: the first token drawn from the training
   token frequencies; attention-lstm: after START), each as long as a training piece drawn at
   random (attention-lstm: until the model chooses END, at most twice that many events).
2. Every piece (generated, training, held-out validation) is decoded to a `Score` through the
   run's representation, and its metrics (metrics/musical.py, and metrics/harmony.py: chord
   tones on an eighth-note grid, and for pieces of four tracks parallel fifths and octaves and
   voice crossings) are computed. Per metric: mean and standard deviation of each set, the
   distance |mean_generated - mean_training| / std_training, and the overlap area of the two
   sets' value distributions (Gaussian kernel density estimates, as the MGEval papers compare
   distributions). Pieces of four tracks also get each voice's range, set beside the others'.
3. Copy check against the training pieces (copy_check.py): the longest run of steps and of
   bars that a piece shares with any one training piece, and the share of its n-grams found
   in the training data; for the generated pieces and, as the yardstick, for the held-out
   real pieces, which no model has seen.
The text table and the histograms are made by music_report.py.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from cadenza.atomic import write_text_atomic
from cadenza.bundle import Bundle, load_bundle
from cadenza.corpus.store import Corpus
from cadenza.errors import CadenzaError
from cadenza.evaluation.copy_check import copy_check
from cadenza.evaluation.corpus import open_run_corpus
from cadenza.generation.compose import check_seed
from cadenza.generation.events import generate_events
from cadenza.generation.generate import generate_ids
from cadenza.generation.sampling import SamplingConfig
from cadenza.metrics.distribution import overlap_area, standardized_distance, summary
from cadenza.metrics.harmony import FOUR_VOICES, harmony_metrics, voice_ranges
from cadenza.metrics.musical import score_metrics
from cadenza.metrics.musical import sequence_metrics as repetition_metrics
from cadenza.models import model_kind
from cadenza.music.score import Score
from cadenza.representations import get_representation
from cadenza.representations.pitch_duration import END, START

MAX_METRIC_PIECES = 1000  # training pieces whose metrics are measured (a seeded sample beyond)
SETS = ("training", "validation", "generated")


@dataclass(frozen=True)
class JudgeSettings:
    """How many pieces to generate and how; the n of the n-gram figures."""

    pieces: int = 20
    ngram: int = 4
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pieces < 1 or self.ngram < 1:
            raise CadenzaError(
                f"--pieces and --ngram must be at least 1, got {self.pieces}, {self.ngram}"
            )
        SamplingConfig(self.temperature, 0, self.top_p)  # the sampler's own checks
        check_seed(self.seed)


class PieceReader:
    """Token ids of one run's vocabulary -> steps (hashable symbols) and decoded scores."""

    def __init__(self, bundle: Bundle) -> None:
        self.vocabulary = bundle.vocabulary
        run = bundle.run_config
        self.representation = get_representation(
            run.representation_name, **run.representation_settings
        )
        self.two_stream = model_kind(run.model_name).pairs
        self.framing = {self.vocabulary.index[t] for t in (START, END) if t in self.vocabulary}

    def steps(self, ids: np.ndarray) -> list[int]:
        """One symbol per step: a token id, or for pitch-duration one per event (framing off)."""
        ids = np.asarray(ids, dtype=np.int64)
        if not self.two_stream:
            return ids.tolist()
        pairs = ids.reshape(-1, 2)
        pairs = pairs[~np.isin(pairs[:, 0], list(self.framing))]
        return (pairs[:, 0] * len(self.vocabulary) + pairs[:, 1]).tolist()

    def score(self, ids: np.ndarray) -> Score:
        """The piece as music, decoded as `cadenza generate` would write it."""
        return self.representation.decode(self.vocabulary.decode(ids))


def generate_pieces(
    bundle: Bundle, reader: PieceReader, lengths: list[int], settings: JudgeSettings
) -> list[np.ndarray]:
    """One piece per length (tokens, or events for attention-lstm), from no primer."""
    generator = torch.Generator().manual_seed(settings.seed)
    sampling = SamplingConfig(settings.temperature, 0, settings.top_p)
    pieces = []
    # Composing the pieces is the long part of `evaluate --pieces`: show it.
    for length in tqdm(lengths, desc="composing", unit="piece", disable=not sys.stderr.isatty()):
        if reader.two_stream:
            tokens, _ = generate_events(bundle, [], 2 * length, sampling, sampling, generator)
            pieces.append(reader.vocabulary.encode(tokens))
        else:
            pieces.append(np.array(generate_ids(bundle, [], length, sampling, generator)))
    return pieces


def _piece_lengths(reader: PieceReader, pieces: list[np.ndarray]) -> list[int]:
    return [len(reader.steps(ids)) for ids in pieces]


def open_run(run: str | Path, corpus_folder: str | Path | None) -> tuple[Bundle, Corpus]:
    """The run's bundle and its corpus (or another with the same vocabulary)."""
    bundle = load_bundle(run)
    return bundle, open_run_corpus(bundle, corpus_folder)


def judge_run(
    run: str | Path, corpus_folder: str | Path | None = None, settings: JudgeSettings | None = None,
    output: str | Path | None = None,
) -> dict:  # fmt: skip
    """Metrics of generated pieces against the training data's, and the copy check, as a dict;
    also written to `output` (default: the run folder) as music-evaluation.json and .png."""
    settings = settings or JudgeSettings()
    bundle, corpus = open_run(run, corpus_folder)
    reader = PieceReader(bundle)
    # Whole pieces, or with a validation tail (a small corpus) each piece's head and tail.
    train_stretches = corpus.stretches("train")
    validation_stretches = corpus.stretches("validation")
    if not train_stretches or not validation_stretches:
        raise CadenzaError(f"{corpus.folder}: the copy check needs training and validation pieces")
    train_indices = [piece for piece, _ in train_stretches]
    validation_indices = [piece for piece, _ in validation_stretches]
    training = [np.asarray(ids) for _, ids in train_stretches]
    rng = np.random.default_rng(settings.seed)
    drawn = rng.choice(_piece_lengths(reader, training), size=settings.pieces)
    sets = {
        "training": _sample(training, rng),
        "validation": [np.asarray(ids) for _, ids in validation_stretches],
        "generated": generate_pieces(bundle, reader, [int(n) for n in drawn], settings),
    }
    scores = {name: [reader.score(ids) for ids in pieces] for name, pieces in sets.items()}
    values = {
        name: _metric_values(reader, pieces, scores[name], settings.ngram)
        for name, pieces in sets.items()
    }
    titles = {
        "training": [_title(corpus, i) for i in train_indices],
        "validation": [_title(corpus, i) for i in validation_indices],
        "generated": [f"generated piece {number + 1}" for number in range(settings.pieces)],
    }
    result = {
        "pieces": settings.pieces,
        "settings": asdict(settings),
        "distance": "|mean generated - mean training| / std training; overlap: shared area of "
        "the Gaussian kernel density estimates of the two sets' values",
        "metrics": _compare(values),
        "voice_ranges": voice_range_table(scores),
        "copy": copy_check(reader, training, sets, titles, settings.ngram),
    }
    output = Path(output or run)
    output.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output / "music-evaluation.json", json.dumps(_plain(result), indent=1))
    from cadenza.evaluation.music_report import plot_judgement  # matplotlib: only here

    plot_judgement(values, result, output / "music-evaluation.png")
    return result


def _sample(pieces: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    if len(pieces) <= MAX_METRIC_PIECES:
        return pieces
    return [pieces[i] for i in sorted(rng.choice(len(pieces), MAX_METRIC_PIECES, replace=False))]


def _title(corpus: Corpus, index: int) -> str:
    row = corpus.manifest["pieces"][int(index)]
    return row.get("title") or Path(row.get("source", "")).name or f"piece {index}"


def _metric_values(
    reader: PieceReader, pieces: list[np.ndarray], scores: list[Score], n: int
) -> dict[str, list]:
    """metric name -> one value per piece (NaN for a four-voice metric of a piece that has
    not four tracks)."""
    rows = [
        score_metrics(score) | harmony_metrics(score) | repetition_metrics(reader.steps(ids), n)
        for ids, score in zip(pieces, scores, strict=True)
    ]
    names = dict.fromkeys(name for row in rows for name in row)
    return {name: [row.get(name, math.nan) for row in rows] for name in names}


def _compare(values: dict[str, dict[str, list]]) -> dict[str, dict]:
    compared = {}
    for metric in dict.fromkeys(metric for name in SETS for metric in values[name]):
        found = {name: values[name].get(metric, []) for name in SETS}
        training, generated = found["training"], found["generated"]
        compared[metric] = {
            **{name: summary(found[name]) for name in SETS},
            "distance": standardized_distance(generated, training),
            "overlap": overlap_area(generated, training),
            "validation_distance": standardized_distance(found["validation"], training),
        }
    return compared


def voice_range_table(scores: dict[str, list[Score]]) -> dict[str, list[list[float]]]:
    """Per set of pieces: each voice's lowest and highest pitch over its pieces of four tracks
    (sets without such pieces are left out)."""
    table = {}
    for name, pieces in scores.items():
        ranges = [voice_ranges(s) for s in pieces if len(s.tracks) == FOUR_VOICES]
        if ranges:
            lows, highs = np.array(ranges, dtype=np.float64).transpose(2, 1, 0)  # (4, pieces)
            table[name] = [[_extreme(np.min, low), _extreme(np.max, high)]
                           for low, high in zip(lows, highs, strict=True)]  # fmt: skip
    return table


def _extreme(pick, values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(pick(finite)) if len(finite) else math.nan


def _plain(value):
    """NaN and infinity as null for JSON."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
