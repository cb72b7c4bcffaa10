"""A phrase corpus on disk (see `corpus/phrase_corpus.py` for its files): writing and opening it."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np

from cadenza import __version__
from cadenza.atomic import write_text_atomic
from cadenza.corpus.store import SPLIT_NAMES, open_prepared
from cadenza.corpus.worker import split_fraction
from cadenza.errors import CadenzaError
from cadenza.representations.pianoroll import (
    BARS,
    PITCHES,
    STEPS_PER_BAR,
    VOICES,
    PianorollRepresentation,
    pitch_tokens,
)
from cadenza.representations.vocab import Vocabulary

FORMAT_VERSION = 1
PHRASE_SHAPE = (BARS, STEPS_PER_BAR, len(VOICES))
SKIPPED_LISTED = 200  # skipped files kept for the printed summary; all are in report.json


def phrase_vocabulary(representation: PianorollRepresentation) -> Vocabulary:
    """The vocabulary of a phrase corpus: the roll's 84 pitch names, with the settings."""
    return Vocabulary(
        pitch_tokens(representation.lowest_pitch), representation.name, representation.settings()
    )


class PhraseWriter:
    """Receives file results in order and writes the corpus folder at the end."""

    def __init__(self, staging: Path, validation_fraction: float) -> None:
        if not 0 <= validation_fraction < 1:
            raise CadenzaError(f"--validation must be in [0, 1), got {validation_fraction}")
        self.staging, self.validation_fraction = staging, validation_fraction
        self.phrases: list[np.ndarray] = []
        self.offsets, self.splits = [0], []
        self.pieces: list[dict] = []
        self.files: list[dict] = []
        self.counts: Counter[str] = Counter()  # files per outcome
        self.piece_outcomes: Counter[str] = Counter()  # pieces per outcome
        self.changes: Counter[str] = Counter()

    def add(self, result) -> None:
        """Append a file's kept pieces and its report row."""
        for piece in result.pieces:
            self.piece_outcomes[piece.skipped or "ok"] += 1
        kept = [p for p in result.pieces if not p.skipped] if result.status == "ok" else []
        for piece in kept:
            split = piece.split
            if split is None:
                split = int(split_fraction(piece.key) < self.validation_fraction)
            self.pieces.append({
                "source": result.path, "number": piece.number, "title": piece.title,
                "key": piece.key, "split": SPLIT_NAMES[split], "offset": self.offsets[-1],
                "phrases": len(piece.phrases), "bars": piece.bars,
            })  # fmt: skip
            self.phrases.append(piece.phrases)
            self.offsets.append(self.offsets[-1] + len(piece.phrases))
            self.splits.append(split)
            self.changes.update(piece.changes)
        self.counts[result.reason or "ok"] += 1
        self.files.append({
            "path": result.path, "hash": result.content_hash, "status": result.status,
            "reason": result.reason, "detail": result.detail, "pieces": len(kept),
            "phrases": sum(len(p.phrases) for p in kept),
        })  # fmt: skip

    def finish(self, representation: PianorollRepresentation, sources: list[str]) -> dict:
        """Write arrays, vocabulary, manifest and report; return the summary."""
        phrases = np.concatenate(self.phrases) if self.phrases else np.zeros((0, *PHRASE_SHAPE))
        phrases = phrases.astype(np.int8)
        offsets = np.asarray(self.offsets, np.int64)
        splits = np.asarray(self.splits, np.uint8)
        vocabulary = phrase_vocabulary(representation)
        digest = hashlib.sha256()
        for array in (phrases, offsets, splits):
            digest.update(array.tobytes())
        digest.update(vocabulary.fingerprint.encode())
        np.save(self.staging / "phrases.npy", phrases)
        np.save(self.staging / "offsets.npy", offsets)
        np.save(self.staging / "splits.npy", splits)
        vocabulary.save(self.staging / "vocab.json")
        names = SPLIT_NAMES if 2 in self.splits else SPLIT_NAMES[:2]  # "test" only if any
        per_split = [int(np.sum(np.diff(offsets)[splits == i])) for i in range(len(names))]
        summary = {
            "format_version": FORMAT_VERSION,
            "cadenza": __version__,
            "representation": representation.name,
            "settings": asdict(representation),
            "validation_fraction": self.validation_fraction,
            "sources": sources,
            "file_count": self.counts.total(),
            "outcomes": dict(sorted(self.counts.items())),
            "piece_outcomes": dict(sorted(self.piece_outcomes.items())),
            "encoding_changes": dict(sorted(self.changes.items())),
            "piece_count": len(splits),
            "pieces_per_split": {n: int(np.sum(splits == i)) for i, n in enumerate(names)},
            "phrase_count": len(phrases),
            "phrases_per_split": dict(zip(names, per_split, strict=True)),
            "vocab_fingerprint": vocabulary.fingerprint,
            "corpus_hash": digest.hexdigest(),
        }
        write_text_atomic(self.staging / "manifest.json",
                          json.dumps({**summary, "pieces": self.pieces}, indent=1))  # fmt: skip
        write_text_atomic(self.staging / "report.json",
                          json.dumps({**summary, "files": self.files}, indent=1))  # fmt: skip
        skipped = [row for row in self.files if row["status"] != "ok"]
        return {**summary, "skipped_files": skipped[:SKIPPED_LISTED]}


def is_phrase_corpus(folder: str | Path) -> bool:
    """True for a folder written by `prepare --representation pianoroll`."""
    return (Path(folder) / "phrases.npy").is_file()


class PhraseCorpus:
    """A prepared phrase corpus, opened read-only."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.manifest, self.phrases, self.offsets, self.splits, self.vocabulary = open_prepared(
            self.folder, "phrases.npy", "phrase corpus", ("phrase_count",)
        )
        if (
            self.phrases.shape[1:] != PHRASE_SHAPE
            or len(self.offsets) != len(self.splits) + 1
            or self.offsets[-1] != len(self.phrases)
            or (len(self.phrases) and int(np.max(self.phrases)) >= PITCHES)
        ):
            raise CadenzaError(f"{self.folder}: phrases, offsets and splits do not agree")

    def __len__(self) -> int:
        return len(self.splits)

    def phrase_indices(self, split: str) -> np.ndarray:
        """Indices of the phrases of the pieces in `split` ("train", "validation", "test")."""
        if split not in SPLIT_NAMES:
            raise CadenzaError(f"unknown split {split!r} (known: {', '.join(SPLIT_NAMES)})")
        pieces = np.flatnonzero(self.splits == SPLIT_NAMES.index(split))
        ranges = [np.arange(self.offsets[p], self.offsets[p + 1]) for p in pieces]
        return np.concatenate(ranges) if ranges else np.zeros(0, np.int64)

    def phrase_sources(self, indices: np.ndarray) -> list[tuple[str, int]]:
        """(piece title, first bar counted from 1) of each phrase in `indices`."""
        hop = int(self.vocabulary.settings.get("hop_bars", 1))
        piece_of = np.searchsorted(self.offsets, indices, side="right") - 1
        rows = self.manifest["pieces"]
        return [
            (rows[p]["title"], 1 + hop * int(i - self.offsets[p]))
            for p, i in zip(piece_of.tolist(), np.asarray(indices).tolist(), strict=True)
        ]
