"""`cadenza prepare --representation pianoroll`: four-voice pieces -> a corpus of 2-bar phrases.

A phrase corpus folder holds
  phrases.npy    int8 (N, 2, 16, 4): per phrase, bar, 16th step and voice (soprano, alto,
                 tenor, bass) the pitch index into the 84 pitches from `lowest_pitch`, or -1
                 for silence (`voices_to_roll` makes the boolean roll (N, 2, 16, 84, 4))
  offsets.npy    int64, piece i owns phrases[offsets[i]:offsets[i+1]]
  splits.npy     uint8 per piece, 0 = train, 1 = validation, 2 = test
  vocab.json     the 84 pitch names, the representation and its settings
  manifest.json  settings, counts, the corpus hash, and one row per piece
  report.json    one row per file: ok or skipped, with the reason

A voice sings one pitch at a time, so the index grid holds the whole roll exactly in 1/84
of the space. Files are read in parallel; there is no cache (the Bach chorales take about
20 s on two cores). Score files go to a split by the hash of their content, as for token
corpora; a JSB `.npz` keeps its own split (`train`, `valid` -> validation, `test`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cadenza.atomic import atomic_directory
from cadenza.corpus.phrase_store import PHRASE_SHAPE, PhraseWriter
from cadenza.corpus.pool import file_results
from cadenza.corpus.worker import content_hash
from cadenza.errors import CadenzaError
from cadenza.music.score import Score
from cadenza.representations.pianoroll import (
    BARS,
    STEPS_PER_BAR,
    PianorollError,
    PianorollRepresentation,
)

JSB_SPLITS = {"train": 0, "valid": 1, "test": 2}  # the corpus splits train, validation, test


@dataclass
class PhrasePiece:
    """One piece's phrases, or why it has none."""

    number: int
    title: str
    key: str
    phrases: np.ndarray  # (n, 2, 16, 4) int8
    bars: int = 0
    skipped: str = ""  # the reason, short, for the counts
    message: str = ""  # the reason in a sentence, for the report
    split: int | None = None  # fixed by the source (JSB .npz); None: by the hash of `key`
    changes: dict = field(default_factory=dict)


@dataclass
class PhraseFileResult:
    """What happened to one file."""

    path: str
    content_hash: str
    status: str = "ok"
    reason: str = ""
    detail: str = ""
    pieces: list[PhrasePiece] = field(default_factory=list)


def read_voiced_pieces(path: str) -> list[tuple[Score, float]]:
    """Each piece of a score file with the length of its pickup bar in quarters (0: none).
    MusicXML, ABC and Humdrum give the pickup; MIDI files are taken to start on a bar line."""
    from cadenza.music.io import MIDI_SUFFIXES, read_pieces

    if Path(path).suffix.lower() in MIDI_SUFFIXES:
        return [(score, 0.0) for score in read_pieces(path)]
    from music21 import converter, stream

    try:
        parsed = converter.parse(path, forceSource=True)
    except Exception as error:  # music21 raises many unrelated types on malformed input
        raise CadenzaError(f"cannot read {path}: {type(error).__name__}: {error}") from error
    from cadenza.music.notation import score_from_music21

    stem = Path(path).stem
    pieces = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    titled = [f"{stem}#{i + 1}" if len(pieces) > 1 else stem for i in range(len(pieces))]
    return [(score_from_music21(p, t), _pickup(p)) for p, t in zip(pieces, titled, strict=True)]


def _pickup(piece) -> float:
    """The length of an incomplete first bar (an upbeat), from music21's measures."""
    from music21 import stream

    parts = list(piece.parts) if isinstance(piece, stream.Score) else [piece]
    measures = parts[0].getElementsByClass(stream.Measure) if parts else []
    if not len(measures):
        return 0.0
    first = measures[0]
    length, bar = float(first.duration.quarterLength), float(first.barDuration.quarterLength)
    return length if 0 < length < bar else 0.0


def encode_piece(
    representation: PianorollRepresentation, score: Score, pickup: float, number: int, key: str
) -> PhrasePiece:
    """A score's phrases, or the piece marked skipped with a short reason."""
    empty = np.zeros((0, *PHRASE_SHAPE), np.int8)
    try:
        encoded = representation.encode(score, pickup)
    except PianorollError as error:
        return PhrasePiece(number, score.title, key, empty, 0, error.reason, str(error))
    phrases = representation.phrases(encoded.voices)
    bars = len(encoded.voices) // STEPS_PER_BAR
    changes = {k: v for k, v in encoded.changes.items() if v}
    if not len(phrases):
        message = f"{bars} bar(s); a phrase is {BARS} bars"
        return PhrasePiece(number, score.title, key, phrases, bars, "too short", message)
    return PhrasePiece(number, score.title, key, phrases, bars, changes=changes)


def phrase_file(path: str, representation: PianorollRepresentation) -> PhraseFileResult:
    """Read one score file into phrases; never raises for a bad file, reports it instead."""
    try:
        with open(path, "rb") as handle:
            digest = content_hash(handle.read())
    except OSError as error:
        return PhraseFileResult(path, "", "skipped", "unreadable", str(error))
    try:
        scores = read_voiced_pieces(path)
    except Exception as error:  # a library's failure on one odd file must not end the run
        detail = " ".join(str(error).split())[:300]
        return PhraseFileResult(path, digest, "skipped", "unreadable", detail)
    pieces = []
    for number, (score, pickup) in enumerate(scores):
        key = digest if len(scores) == 1 else content_hash(f"{digest}#{number}".encode())
        pieces.append(encode_piece(representation, score, pickup, number, key))
    return _file_result(path, digest, pieces)


def phrase_npz(path: str, representation: PianorollRepresentation) -> PhraseFileResult:
    """Read a JSB `.npz` (keys train/valid/test) into phrases, keeping its split."""
    from cadenza.music.jsb import read_jsb_npz

    with open(path, "rb") as handle:
        digest = content_hash(handle.read())
    pieces = []
    for name, scores in read_jsb_npz(path).items():
        for score in scores:
            key = content_hash(f"{digest}#{len(pieces)}".encode())
            piece = encode_piece(representation, score, 0.0, len(pieces), key)
            piece.split = JSB_SPLITS[name]
            pieces.append(piece)
    return _file_result(path, digest, pieces)


def _file_result(path: str, digest: str, pieces: list[PhrasePiece]) -> PhraseFileResult:
    kept = [p for p in pieces if not p.skipped]
    changes: Counter = Counter()
    for piece in kept:
        changes.update(piece.changes)
    notes = [f"{count} {what}" for what, count in sorted(changes.items())]
    if len(pieces) == 1 and not kept:
        notes.insert(0, pieces[0].message)
    elif len(pieces) > 1:
        dropped = Counter(p.skipped for p in pieces if p.skipped)
        shown = ", ".join(f"{n} {reason}" for reason, n in sorted(dropped.items()))
        kept_text = f"kept {len(kept)} of {len(pieces)} pieces"
        notes.insert(0, kept_text + (f" ({shown})" if shown else ""))
    detail = "; ".join(notes)
    if not kept:
        reasons = sorted({p.skipped for p in pieces})
        reason = reasons[0] if len(reasons) == 1 else "empty"
        return PhraseFileResult(path, digest, "skipped", reason or "empty", detail, pieces)
    return PhraseFileResult(path, digest, "ok", "", detail, pieces)


def prepare_phrase_corpus(
    files: list[str],
    npz_files: list[str],
    output: str | Path,
    representation: PianorollRepresentation,
    validation_fraction: float = 0.1,
    workers: int | None = None,
    progress: bool = True,
    sources: list[str] | None = None,
) -> dict:
    """Read score files (in parallel) and JSB `.npz` files into the phrase corpus `output`."""
    from cadenza.corpus.prepare import check_output_folder

    if not files and not npz_files:
        raise CadenzaError("no score files or .npz files to prepare")
    output = Path(output)
    check_output_folder(output)
    with atomic_directory(output) as staging:
        writer = PhraseWriter(staging, validation_fraction)
        for path in npz_files:
            writer.add(phrase_npz(path, representation))
        arguments = (representation,)  # a file at a time: few files, each slow (music21)
        results = file_results(files, phrase_file, arguments, workers, progress, len(files), 1)
        for result in results:
            writer.add(result)
        summary = writer.finish(representation, sources or [*npz_files, *files][:1])
    return summary


def format_phrase_summary(summary: dict, output: Path, seconds: float) -> str:
    """A short table of outcomes, the split, what encoding changed, and the skipped files."""
    from cadenza.corpus.prepare_summary import format_prepared, split_counts

    about = (
        f"representation pianoroll: 2 bars x 16 steps x 84 pitches (from "
        f"{summary['settings']['lowest_pitch']}) x 4 voices, a phrase every "
        f"{summary['settings']['hop_bars']} bar(s)"
    )
    lines = [f"  {'outcome':<24}{'files':>8}{'pieces':>8}"]
    outcomes = summary["piece_outcomes"]
    for outcome in sorted(set(summary["outcomes"]) | set(outcomes)):
        files = summary["outcomes"].get(outcome, 0)
        lines.append(f"  {outcome:<24}{files:>8}{outcomes.get(outcome, 0):>8}")
    for what, count in summary["encoding_changes"].items():
        lines.append(f"  encoding: {count} {what}")
    lines += [
        "",
        split_counts("pieces", summary["piece_count"], summary["pieces_per_split"]),
        split_counts("phrases", summary["phrase_count"], summary["phrases_per_split"]),
    ]
    return format_prepared(summary, output, seconds, about, lines, "phrase")


def prepare_pianoroll(
    paths: list[str | Path], output: str | Path, embedded: str | None = None,
    validation: float = 0.1, workers: int | None = None, progress: bool = True,
) -> dict:  # fmt: skip
    """A phrase corpus in `output` from score files and folders and JSB `.npz` files among
    `paths`, or from the music21 corpus `embedded` ("bach", "essen"); its summary."""
    from cadenza.corpus.discover import iter_scores

    npz_files = [str(p) for p in paths if str(p).lower().endswith(".npz")]
    for path in npz_files:
        if not Path(path).is_file():
            raise CadenzaError(f"{path}: no such file")
    others = [p for p in paths if str(p) not in npz_files]
    if embedded:
        from cadenza.corpus.embedded import embedded_corpus_files

        files = [str(p) for p in embedded_corpus_files(embedded)]
        sources = [f"music21 corpus: {embedded}"]
    else:
        files, sources = list(iter_scores(others)) if others else [], [str(p) for p in paths]
    return prepare_phrase_corpus(
        files, npz_files, output, PianorollRepresentation(), validation, workers, progress,
        sources,
    )  # fmt: skip
