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
3. Copy check against the training pieces: the longest run of steps (tokens, or events for
   pitch-duration) and of bars that a piece shares with any one training piece, and the share
   of its n-grams found in the training data; for the generated pieces and, as the yardstick,
   for the held-out real pieces, which no model has seen.
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

from cadenza.atomic import atomic_path, write_text_atomic
from cadenza.corpus.store import Corpus
from cadenza.errors import CadenzaError
from cadenza.evaluation_corpus import open_run_corpus
from cadenza.generation.compose import check_seed
from cadenza.generation.events import generate_events
from cadenza.generation.generate import generate_ids
from cadenza.generation.sampling import SamplingConfig
from cadenza.metrics.copying import CopyIndex, shared_ngram_share
from cadenza.metrics.distribution import overlap_area, standardized_distance, summary
from cadenza.metrics.harmony import FOUR_VOICES, VOICE_NAMES, harmony_metrics, voice_ranges
from cadenza.metrics.musical import STEPS_PER_QUARTER, measure_steps, score_metrics
from cadenza.metrics.musical import sequence_metrics as repetition_metrics
from cadenza.models import model_kind
from cadenza.music.score import Score
from cadenza.representations import get_representation
from cadenza.representations.pitch_duration import END, START
from cadenza.representations.pitch_names import PITCH_NAMES
from cadenza.training.bundle import Bundle, load_bundle

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
        settings = bundle.config["representation"]
        self.representation = get_representation(settings["name"], **settings["settings"])
        self.two_stream = model_kind(bundle.config["model"]["name"]).tokens_per_step == 2
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


def bar_symbols(score: Score) -> list[tuple]:
    """One symbol per bar: its notes as (grid position in the bar, pitch, length in steps)."""
    track = score.merged()
    measure = measure_steps(score)
    starts = np.round(track.onsets * STEPS_PER_QUARTER).astype(np.int64)
    lengths = np.round(track.durations * STEPS_PER_QUARTER).astype(np.int64)
    bars: list[list[tuple]] = [
        [] for _ in range(int(starts.max()) // measure + 1 if len(starts) else 0)
    ]
    notes = zip(starts.tolist(), track.pitches.tolist(), lengths.tolist(), strict=True)
    for start, pitch, length in notes:
        bars[start // measure].append((start % measure, pitch, length))
    return [tuple(sorted(bar)) for bar in bars]


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
        "copy": _copy_check(reader, training, sets, titles, settings.ngram),
    }
    output = Path(output or run)
    output.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output / "music-evaluation.json", json.dumps(_plain(result), indent=1))
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


def _copy_check(reader, training, sets, titles: dict[str, list[str]], n: int) -> dict:
    step_index = CopyIndex([reader.steps(ids) for ids in training])
    bar_index = CopyIndex([bar_symbols(reader.score(ids)) for ids in training])
    checked = {}
    for name in ("generated", "validation"):
        rows = []
        for ids, title in zip(sets[name], titles[name], strict=True):
            steps = reader.steps(ids)
            run = step_index.longest_run(steps)
            bars = bar_index.longest_run(bar_symbols(reader.score(ids)))
            source = titles["training"][run.reference] if run.reference is not None else None
            rows.append({
                "piece": title,
                "steps": len(steps),
                "longest_run": run.length,
                "copied_from": source,
                "longest_bar_run": bars.length,
                "ngram_share": shared_ngram_share(step_index.match_lengths(steps), n),
            })  # fmt: skip
        checked[name] = {"pieces": rows, **_copy_summary(rows)}
    return checked


def _copy_summary(rows: list[dict]) -> dict:
    runs = [row["longest_run"] for row in rows]
    bars = [row["longest_bar_run"] for row in rows]
    longest = max(rows, key=lambda row: row["longest_run"])
    return {
        "longest_run_median": float(np.median(runs)),
        "longest_run_max": int(max(runs)),
        "longest_run_max_piece": longest["piece"],
        "longest_run_max_from": longest["copied_from"],
        "longest_bar_run_median": float(np.median(bars)),
        "longest_bar_run_max": int(max(bars)),
        "ngram_share_mean": summary([row["ngram_share"] for row in rows])["mean"],
    }


def _plain(value):
    """NaN and infinity as null for JSON."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def format_judgement(result: dict, unit: str) -> str:
    """The metrics table and the copy check as text."""
    lines = [
        f"{'metric':<24} {'training':>16} {'held-out':>16} {'generated':>16} "
        f"{'distance':>8} {'overlap':>7}"
    ]
    for metric, row in result["metrics"].items():
        cells = [f"{row[name]['mean']:>8.3f} ± {row[name]['std']:<5.3f}" for name in SETS]
        lines.append(
            f"{metric:<24} " + " ".join(f"{cell:>16}" for cell in cells)
            + f" {row['distance']:>8.2f} {row['overlap']:>7.2f}"
        )  # fmt: skip
    lines += _voice_range_lines(result.get("voice_ranges", {}))
    n = result["settings"]["ngram"]
    copy = result["copy"]
    lines += [
        "",
        f"distance = {result['distance']}",
        "",
        f"copy check against the training pieces{'':<8} {'generated':>10} {'held-out':>10}",
    ]
    for label, key, shown in (
        (f"longest shared run, median ({unit})", "longest_run_median", "{:>10.1f}"),
        (f"longest shared run, max ({unit})", "longest_run_max", "{:>10d}"),
        ("longest shared run of bars, median", "longest_bar_run_median", "{:>10.1f}"),
        ("longest shared run of bars, max", "longest_bar_run_max", "{:>10d}"),
        (f"share of {n}-grams found in training", "ngram_share_mean", "{:>10.1%}"),
    ):
        cells = " ".join(shown.format(copy[name][key]) for name in ("generated", "validation"))
        lines.append(f"{label:<46} {cells}")
    for name in ("generated", "validation"):
        found = copy[name]
        if found["longest_run_max_from"] is not None:
            lines.append(
                f"the longest: {found['longest_run_max_piece']} shares {found['longest_run_max']} "
                f"{unit} with {found['longest_run_max_from']}"
            )
    return "\n".join(lines)


def pitch_span(low: float, high: float) -> str:
    """ "C4-A5 (60-81)", or "silent" for a voice without notes."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "silent"
    return f"{PITCH_NAMES[int(low)]}-{PITCH_NAMES[int(high)]} ({low:.0f}-{high:.0f})"


def _voice_range_lines(table: dict[str, list]) -> list[str]:
    """Each voice's range (lowest-highest over the pieces) in every set that has four voices."""
    if not table:
        return []
    names = [name for name in SETS if name in table]
    lines = ["", f"{'voice range':<24} " + " ".join(f"{LABELS[name]:>16}" for name in names)]
    for number, voice in enumerate(VOICE_NAMES):
        cells = [pitch_span(*table[name][number]) for name in names]
        lines.append(f"{voice:<24} " + " ".join(f"{cell:>16}" for cell in cells))
    return lines


def plot_judgement(values: dict[str, dict[str, list]], result: dict, path: Path) -> Path:
    """One histogram per metric (training, held-out, generated) and per copy figure."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    metrics = list(result["metrics"])
    copy_figures = {
        "longest_run": "longest shared run (steps)",
        "longest_bar_run": "longest shared run (bars)",
        "ngram_share": "n-gram share",
    }
    rows = -(-(len(metrics) + len(copy_figures)) // 4)
    figure, axes = plt.subplots(rows, 4, figsize=(16, 3.2 * rows), dpi=90, squeeze=False)
    panels = iter(axes.flat)
    for metric, axis in zip(metrics, panels, strict=False):
        row = result["metrics"][metric]
        _histograms(axis, {name: values[name].get(metric, []) for name in SETS})
        axis.set_title(f"{metric}\ndistance {row['distance']:.2f}, overlap {row['overlap']:.2f}",
                       fontsize=9)  # fmt: skip
    for (key, title), axis in zip(copy_figures.items(), panels, strict=False):
        found = {name: [p[key] for p in result["copy"][name]["pieces"]] for name in SETS[1:]}
        _histograms(axis, found)
        axis.set_title(f"copy check: {title}", fontsize=9)
    for axis in panels:
        axis.axis("off")
    axes.flat[0].legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
    return path


COLORS = {"training": "0.6", "validation": "tab:blue", "generated": "tab:orange"}
LABELS = {"training": "training", "validation": "held-out", "generated": "generated"}


def _histograms(axis, sets: dict[str, list]) -> None:
    finite = {
        name: np.asarray(v, float)[np.isfinite(np.asarray(v, float))] for name, v in sets.items()
    }
    pooled = np.concatenate(list(finite.values()))
    if not len(pooled):
        return
    bins = np.histogram_bin_edges(pooled, bins=20)
    for name, data in finite.items():
        if len(data):
            filled = name == "training"
            axis.hist(
                data, bins=bins, density=True, color=COLORS[name], alpha=0.5 if filled else 1,
                histtype="stepfilled" if filled else "step", label=LABELS[name],
            )  # fmt: skip
