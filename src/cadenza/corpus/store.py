"""The prepared corpus on disk: writing it piece by piece, and opening it memory-mapped.

A corpus folder holds
  tokens.npy     one flat integer array, all pieces back to back (memory-mappable)
  offsets.npy    int64, piece i is tokens[offsets[i]:offsets[i+1]]
  splits.npy     uint8 per piece, 0 = train, 1 = validation, 2 = test (frame datasets only;
                 training never reads the test pieces)
  vocab.json     the vocabulary (token strings in id order)
  manifest.json  settings, counts, the corpus hash, and one row per piece
  report.json    one row per file: ok or skipped, with the reason

Pieces go to training or validation whole, by their hash. A corpus too small for that (fewer
pieces than one validation piece needs at the fraction, e.g. under 10 at 0.1, or a split left
empty by the hash: one to a few files) holds out the tail
of every piece instead: its last `validation_fraction` of steps (`validation_tail`), so that
one to three files can still be trained on; the head of each piece is training data.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from cadenza import __version__
from cadenza.corpus.worker import FileResult, PrepareSettings, split_fraction
from cadenza.errors import CadenzaError
from cadenza.representations import get_representation
from cadenza.representations.vocab import Vocabulary

FORMAT_VERSION = 1
SPLIT_NAMES = ("train", "validation", "test")
VALIDATION_LISTED = 2000  # validation pieces a run's config names one by one (see record)
SKIPPED_LISTED = 200  # skipped files kept in memory for the printed summary; all are in report.json
_CHUNK = 1 << 20


def _write_json_with_rows(path: Path, header: dict, key: str, rows: Iterable[str]) -> None:
    """Write `header` plus a list `key` whose rows come one JSON text at a time (flat memory)."""
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps(header, indent=1)[:-2] + f',\n "{key}": [')
        for number, row in enumerate(rows):
            out.write(("," if number else "") + "\n  " + row.rstrip("\n"))
        out.write("\n ]\n}\n")


class CorpusWriter:
    """Receives file results in order and streams their tokens to a staging folder.

    A piece's split comes from its hash (`validation_fraction`), or, with
    `validation_fraction=None`, from the `splits` its file is added with (a dataset's own) or
    from `validation_keys` (the pieces a model was validated on). A fixed `vocabulary` (a
    model's) replaces the one made from the tokens seen."""

    def __init__(
        self,
        staging: Path,
        validation_fraction: float | None,
        validation_keys: frozenset[str] | None = None,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        if validation_fraction is not None and not 0 <= validation_fraction < 1:
            raise CadenzaError(f"--validation must be in [0, 1), got {validation_fraction}")
        if validation_keys is not None and validation_fraction is not None:
            raise ValueError("give a validation fraction or validation keys, not both")
        self.staging = staging
        self.validation_fraction = validation_fraction
        self.validation_keys = validation_keys
        self.fixed_vocabulary = vocabulary
        self.vocab_index: dict[str, int] = {}
        self.offsets = array("q", [0])  # int64 per piece, not a Python int object each
        self.splits = bytearray()
        self.counts: Counter[str] = Counter()  # files per outcome ("ok" or a skip reason)
        self.cached_files = 0
        self.split_tokens = [0] * len(SPLIT_NAMES)
        self.skipped: list[dict] = []
        self.policy_notes: Counter[str] = Counter()
        self.statistics: Counter[str] = Counter()  # what encoding changed, summed over files
        self._raw = (staging / "tokens.raw").open("wb")
        self._pieces = (staging / "pieces.jsonl").open("w", encoding="utf-8")
        self._files = (staging / "files.jsonl").open("w", encoding="utf-8")

    def add(
        self, result: FileResult, cached: bool = False, splits: Sequence[int] | None = None
    ) -> None:
        """Append a file's kept pieces and its report row; `splits`: one per kept piece."""
        kept = [p for p in result.pieces if not p.skipped] if result.status == "ok" else []
        if self.validation_keys is not None and splits is None:
            splits = [int(piece.key in self.validation_keys) for piece in kept]
        if (splits is None) != (self.validation_fraction is not None) or (
            splits is not None and len(splits) != len(kept)
        ):
            raise ValueError("give splits (one per kept piece) exactly when no fraction is set")
        for number, piece in enumerate(kept):
            lookup = np.array(
                [self.vocab_index.setdefault(t, len(self.vocab_index)) for t in piece.tokens],
                dtype=np.uint32,
            )
            self._raw.write(lookup[piece.inverse].tobytes())
            if splits is None:
                split = int(split_fraction(piece.key) < self.validation_fraction)
            else:
                split = int(splits[number])
            row = {
                "source": result.path,
                "number": piece.number,
                "title": piece.title,
                "key": piece.key,
                "split": SPLIT_NAMES[split],
                "offset": self.offsets[-1],
                "length": piece.length,
            }
            self._pieces.write(json.dumps(row) + "\n")
            self.offsets.append(self.offsets[-1] + piece.length)
            self.splits.append(split)
            self.split_tokens[split] += piece.length
        self.counts[result.reason or "ok"] += 1
        self.cached_files += cached
        self.statistics.update(result.statistics)
        row = {
            "path": result.path,
            "hash": result.content_hash,
            "status": result.status,
            "reason": result.reason,
            "detail": result.detail,
            "pieces": len(kept),
            "tokens": sum(p.length for p in kept),
            "cached": cached,
        }
        if result.statistics:
            row["statistics"] = result.statistics
        self._files.write(json.dumps(row) + "\n")
        if result.status == "ok":
            self.policy_notes[result.detail.split("; kept")[0]] += 1
        elif len(self.skipped) < SKIPPED_LISTED:
            self.skipped.append(row)

    def finish(self, settings: PrepareSettings, sources: list[str]) -> dict:
        """Sort the vocabulary, write the final arrays and JSON files; return the summary."""
        for handle in (self._raw, self._pieces, self._files):
            handle.close()
        vocabulary = self.fixed_vocabulary or _vocabulary(settings, self.vocab_index)
        unknown = [token for token in self.vocab_index if token not in vocabulary]
        if unknown and self.fixed_vocabulary is not None:
            raise CadenzaError(f"tokens outside the model's vocabulary: {unknown[:5]}")
        remap = np.zeros(max(len(self.vocab_index), 1), dtype=np.uint32)
        for token, first_id in self.vocab_index.items():
            remap[first_id] = vocabulary.index[token]
        dtype = np.uint16 if len(vocabulary) <= 65536 else np.uint32
        raw_path = self.staging / "tokens.raw"
        digest = hashlib.sha256()
        # Plain reads and writes in chunks (not memory maps): memory stays flat however large.
        with raw_path.open("rb") as raw, (self.staging / "tokens.npy").open("wb") as out:
            header = {"descr": np.dtype(dtype).str, "fortran_order": False,
                      "shape": (self.offsets[-1],)}  # fmt: skip
            np.lib.format.write_array_header_1_0(out, header)
            while len(chunk := np.fromfile(raw, dtype=np.uint32, count=_CHUNK)):
                ids = remap[chunk].astype(dtype)
                out.write(ids.tobytes())
                digest.update(ids.tobytes())
        raw_path.unlink()
        offsets = np.frombuffer(self.offsets, dtype=np.int64)
        digest.update(offsets.tobytes())
        digest.update(vocabulary.fingerprint.encode())
        np.save(self.staging / "offsets.npy", offsets)
        np.save(self.staging / "splits.npy", np.frombuffer(bytes(self.splits), np.uint8))
        vocabulary.save(self.staging / "vocab.json")
        summary = self._summary(settings, vocabulary, digest.hexdigest(), sources)
        self._write_listing("manifest.json", summary, "pieces", "pieces.jsonl")
        self._write_listing("report.json", summary, "files", "files.jsonl")
        return summary

    def _summary(self, settings, vocabulary: Vocabulary, corpus_hash: str, sources) -> dict:
        names = SPLIT_NAMES if self.split_tokens[2] else SPLIT_NAMES[:2]  # "test" only if any
        summary = {
            "format_version": FORMAT_VERSION,
            "cadenza": __version__,
            "settings": asdict(settings),
            "track_policy": settings.policy_text(),
            "validation_fraction": self.validation_fraction,
            "sources": sources,
            "file_count": self.counts.total(),
            "outcomes": dict(sorted(self.counts.items())),
            "cached_files": self.cached_files,
            "track_policy_outcomes": dict(self.policy_notes.most_common()),
            "piece_count": len(self.splits),
            "pieces_per_split": {
                name: self.splits.count(index) for index, name in enumerate(names)
            },
            "tokens": self.offsets[-1],
            "tokens_per_split": dict(zip(names, self.split_tokens, strict=False)),
            "vocab_size": len(vocabulary),
            "vocab_fingerprint": vocabulary.fingerprint,
            "corpus_hash": corpus_hash,
        }
        if self.statistics:
            summary["encoding_statistics"] = dict(sorted(self.statistics.items()))
        share = summary["validation_tail"] = validation_tail_share(summary, preparing=True)
        if share is not None:
            offsets = np.frombuffer(self.offsets, dtype=np.int64)
            step = get_representation(settings.representation).streams
            held_out = int(tail_lengths(np.diff(offsets), share, step).sum())
            summary["tokens_per_split"] = {
                "train": int(offsets[-1]) - held_out,
                "validation": held_out,
            }
        return summary

    def _write_listing(self, name: str, summary: dict, key: str, rows_name: str) -> None:
        rows_path = self.staging / rows_name
        with rows_path.open(encoding="utf-8") as rows:
            _write_json_with_rows(self.staging / name, summary, key, rows)
        rows_path.unlink()


def validation_tail_share(manifest: dict, preparing: bool = False) -> float | None:
    """The share of each piece held out as validation when the corpus has too few pieces to
    split them whole (fewer than one validation piece's worth at the fraction, or the hash
    left training or validation empty); None when pieces are split whole. Decided when the
    corpus is prepared (`preparing`) and kept in its manifest, so a corpus never changes its
    split; one prepared before tails existed has one only where a split is empty."""
    fraction = manifest.get("validation_fraction")  # None: a dataset's own split
    pieces, count = manifest.get("pieces_per_split", {}), manifest.get("piece_count", 0)
    if not fraction or not count:
        return None
    if not preparing and "validation_tail" in manifest:
        return manifest["validation_tail"]
    whole = pieces.get("train", 0) and pieces.get("validation", 0)
    enough = count * fraction >= 1 or not preparing  # an earlier corpus kept whole pieces
    return None if whole and enough else float(fraction)


def tail_lengths(lengths: np.ndarray, share: float, step: int) -> np.ndarray:
    """Tokens held out at the end of each piece: `share` of its steps rounded up, in whole
    steps (a pitch-duration event is never cut), at least two (an input and its target) and
    never the whole piece."""
    steps = np.asarray(lengths, dtype=np.int64) // step
    tail = np.minimum(np.ceil(share * steps).astype(np.int64), steps - 1)
    return np.maximum(tail, np.minimum(steps - 1, 2)).clip(min=0) * step


def describe_validation(manifest: dict) -> str | None:
    """One sentence on a validation tail, for what prepare, train and evaluate print."""
    share = validation_tail_share(manifest)
    if share is None:
        return None
    count = manifest["piece_count"]
    pieces = "1 piece is" if count == 1 else f"{count} pieces are"
    return (
        f"validation: the last {share:.0%} of every piece, since {pieces} too few to hold out "
        f"whole pieces (--validation {share:g})"
    )


def _vocabulary(settings: PrepareSettings, seen: dict[str, int]) -> Vocabulary:
    """The sorted seen tokens; or, for a representation with a closed vocabulary, all of its
    tokens in its own order (with the settings it reports)."""
    representation = get_representation(
        settings.representation, **settings.representation_options()
    )
    closed = getattr(representation, "vocabulary_tokens", None)
    if closed is None:
        return Vocabulary(sorted(seen), settings.representation, settings.representation_options())
    vocabulary = Vocabulary(closed(), settings.representation, representation.settings())
    unknown = [token for token in seen if token not in vocabulary]
    if unknown:
        raise ValueError(f"tokens outside the closed vocabulary: {unknown[:5]}")
    return vocabulary


def open_prepared(
    folder: Path, steps_file: str, what: str, also_needed: tuple[str, ...]
) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, Vocabulary]:
    """A prepared folder's manifest, `steps_file` (memory-mapped), offsets, splits and
    vocabulary, once the manifest holds the common keys and `also_needed`, and the
    vocabulary is its own; `what` ("corpus", "phrase corpus") names the folder in errors."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        steps = np.load(folder / steps_file, mmap_mode="r")
        offsets = np.load(folder / "offsets.npy")
        splits = np.load(folder / "splits.npy")
    except (OSError, ValueError) as error:
        raise CadenzaError(f"{folder}: not a prepared {what} ({error})") from None
    vocabulary = Vocabulary.load(folder / "vocab.json")
    needed = ("corpus_hash", "pieces", "vocab_fingerprint", *also_needed)
    if not isinstance(manifest, dict) or any(k not in manifest for k in needed):
        raise CadenzaError(f"{folder}: manifest.json is damaged (prepare the {what} again)")
    if manifest["vocab_fingerprint"] != vocabulary.fingerprint:
        raise CadenzaError(f"{folder}: vocab.json does not belong to this corpus")
    return manifest, steps, offsets, splits, vocabulary


class Corpus:
    """A prepared corpus, opened read-only with the token array memory-mapped."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.manifest, self.tokens, self.offsets, self.splits, self.vocabulary = open_prepared(
            self.folder, "tokens.npy", "corpus", ("tokens_per_split",)
        )
        if len(self.offsets) != len(self.splits) + 1 or self.offsets[-1] != len(self.tokens):
            raise CadenzaError(f"{self.folder}: tokens, offsets and splits do not agree")
        self.validation_tail = validation_tail_share(self.manifest)

    def __len__(self) -> int:
        return len(self.splits)

    def piece(self, index: int) -> np.ndarray:
        """Token ids of piece `index`."""
        return self.tokens[self.offsets[index] : self.offsets[index + 1]]

    def piece_indices(self, split: str) -> np.ndarray:
        """Indices of the pieces in `split` ("train", "validation" or "test")."""
        if split not in SPLIT_NAMES:
            raise CadenzaError(f"unknown split {split!r} (known: {', '.join(SPLIT_NAMES)})")
        return np.flatnonzero(self.splits == SPLIT_NAMES.index(split))

    def regions(self, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(piece indices, start offsets, end offsets) of the token stretches of `split`: its
        whole pieces or, with a validation tail, every piece's head ("train") or tail."""
        if self.validation_tail is None or split == "test":
            pieces = self.piece_indices(split)
            return pieces, self.offsets[pieces], self.offsets[pieces + 1]
        starts, ends = self.offsets[:-1], self.offsets[1:]
        step = get_representation(self.vocabulary.representation).streams
        cuts = ends - tail_lengths(ends - starts, self.validation_tail, step)
        pieces = np.arange(len(self), dtype=np.int64)
        return (pieces, starts, cuts) if split == "train" else (pieces, cuts, ends)

    def validation_digest(self) -> str:
        """A hash of the validation stretches (piece keys and token ids): equal digests mean
        a model is validated on exactly the same pieces, wherever the corpus was rebuilt."""
        digest = hashlib.sha256()
        for piece, ids in self.stretches("validation"):
            digest.update(self.manifest["pieces"][piece]["key"].encode())
            digest.update(np.asarray(ids, dtype=np.int64).tobytes())
        return digest.hexdigest()

    def record(self) -> dict:
        """What a run keeps of its corpus to find it from anywhere, or to rebuild it when it
        came from music21: where it was, its hash and settings, which pieces validate."""
        from cadenza.corpus.embedded import music21_relative

        rows = self.manifest["pieces"]
        pieces, _, _ = self.regions("validation")
        validation = {"pieces": len(pieces), "digest": self.validation_digest()}
        if len(pieces) <= VALIDATION_LISTED:
            validation["keys"] = [
                [Path(rows[i]["source"]).name, rows[i]["number"], rows[i]["key"]] for i in pieces
            ]
        record = {
            "path": str(self.folder),
            "absolute": str(self.folder.resolve()),
            "hash": self.manifest["corpus_hash"],
            "settings": self.manifest.get("settings"),
            "validation_fraction": self.manifest.get("validation_fraction"),
            "validation_tail": self.validation_tail,
            "validation": validation,
        }
        try:
            files = json.loads((self.folder / "report.json").read_text("utf-8"))["files"]
        except (OSError, ValueError, KeyError):
            return record
        inside = music21_relative([row["path"] for row in files])
        if inside is not None:
            record["music21"] = {"files": inside}
        return record

    def stretches(self, split: str) -> list[tuple[int, np.ndarray]]:
        """(piece index, token ids) of each non-empty stretch of `split` (see `regions`)."""
        pieces, starts, ends = self.regions(split)
        spans = zip(pieces.tolist(), starts.tolist(), ends.tolist(), strict=True)
        return [(piece, self.tokens[start:end]) for piece, start, end in spans if end > start]
