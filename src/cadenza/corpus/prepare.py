"""`cadenza prepare`: score files -> a tokenized corpus folder, in parallel, with a cache.

The output folder doubles as the cache: files whose content hash (and the settings) match
the previous run's are not parsed again; their tokens are taken from the previous output.
Everything is written to a staging folder that replaces the output only when complete.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from cadenza import __version__
from cadenza.atomic import atomic_directory
from cadenza.corpus.pool import file_results
from cadenza.corpus.store import FORMAT_VERSION, CorpusWriter
from cadenza.corpus.worker import FileResult, PieceResult, PrepareSettings, process_file
from cadenza.errors import CadenzaError
from cadenza.representations.vocab import Vocabulary


def prepare_corpus(
    files: Iterable[str | Path],
    output: str | Path,
    settings: PrepareSettings,
    validation_fraction: float = 0.1,
    workers: int | None = None,
    progress: bool = True,
    sources: list[str] | None = None,
    total: int | None = None,
    validation_keys: frozenset[str] | None = None,
    vocabulary: Vocabulary | None = None,
) -> dict:
    """Tokenize `files` into the corpus folder `output` and return the summary.

    `files` may be a generator (see `discover.iter_scores`); `total` is its length, for the
    progress bar. `validation_keys` (with `validation_fraction=None`) and `vocabulary` rebuild
    a model's own validation pieces in its own token ids (see `CorpusWriter`).
    """
    names = (str(path) for path in files)
    first = next(names, None)
    if first is None:
        raise CadenzaError(
            "no score files to prepare (looked for .mid .midi .xml .mxl .musicxml .abc .krn)"
        )
    names = itertools.chain([first], names)
    output = Path(output)
    check_output_folder(output)
    previous = PreviousCorpus.open(output, settings)
    with atomic_directory(output) as staging:
        writer = CorpusWriter(staging, validation_fraction, validation_keys, vocabulary)
        arguments = (settings, previous.hashes)
        results = file_results(names, process_file, arguments, workers, progress, total)
        for result in results:
            if result.status == "cached":
                writer.add(previous.result_for(result.path, result.content_hash), cached=True)
            else:
                writer.add(result)
        previous.close()
        summary = writer.finish(settings, sources or [first])
        summary["skipped_files"] = writer.skipped
    return summary


def check_output_folder(output: Path) -> None:
    """The output must be new, empty, or a corpus folder: prepare replaces it as a whole."""
    if output.is_file():
        raise CadenzaError(f"{output}: is a file; give a folder for the corpus")
    if output.is_dir() and any(output.iterdir()) and not (output / "manifest.json").is_file():
        raise CadenzaError(
            f"{output}: the folder holds other files and is not a corpus; prepare replaces its "
            "output folder as a whole, so give a new or empty folder"
        )


class PreviousCorpus:
    """The previous output of the same folder, used as a cache when its settings match."""

    def __init__(self) -> None:
        self.hashes: frozenset[str] = frozenset()
        self.files: dict[str, dict] = {}
        self.pieces: dict[str, list[dict]] = {}
        self.tokens: np.ndarray = np.zeros(0, np.uint16)
        self.vocabulary: list[str] = []

    @classmethod
    def open(cls, folder: Path, settings: PrepareSettings) -> PreviousCorpus:
        """Load the previous run's output, or an empty cache when there is none usable."""
        from dataclasses import asdict

        cache = cls()
        try:
            manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
            report = json.loads((folder / "report.json").read_text("utf-8"))
            wanted = (FORMAT_VERSION, __version__, asdict(settings))
            found = (manifest["format_version"], manifest["cadenza"], manifest["settings"])
            if found != wanted:
                return cache  # other settings, or another version's tokens: parse again
            cache.vocabulary = Vocabulary.load(folder / "vocab.json").tokens
            cache.tokens = np.load(folder / "tokens.npy", mmap_mode="r")
            cache._index(report["files"], manifest["pieces"])
            if len(cache.tokens) != manifest["tokens"]:
                raise ValueError("tokens.npy does not match the manifest")
        except (OSError, ValueError, KeyError, TypeError, IndexError, CadenzaError):
            return cls()  # a damaged previous output is not trusted: parse everything
        return cache

    def _index(self, files: list[dict], pieces: list[dict]) -> None:
        for row in files:
            if row["hash"]:
                self.files[row["hash"]] = row
        for row in pieces:
            if row["offset"] + row["length"] > len(self.tokens):
                raise ValueError("a piece lies outside tokens.npy")
            self.pieces.setdefault(row["source"], []).append(row)
        self.hashes = frozenset(self.files)

    def result_for(self, path: str, digest: str) -> FileResult:
        """Rebuild a file's result from the previous output."""
        row = self.files[digest]
        pieces = []
        for piece in self.pieces.get(row["path"], []):
            ids = self.tokens[piece["offset"] : piece["offset"] + piece["length"]]
            distinct, inverse = np.unique(ids, return_inverse=True)
            tokens = [self.vocabulary[i] for i in distinct.tolist()]
            pieces.append(
                PieceResult(
                    piece["number"], piece["title"], piece["key"], tokens, inverse.astype(np.uint32)
                )
            )
        statistics = row.get("statistics", {})
        return FileResult(
            path, digest, row["status"], row["reason"], row["detail"], pieces, statistics
        )

    def close(self) -> None:
        """Release the memory-mapped token array before the folder is replaced."""
        self.tokens = np.zeros(0, np.uint16)
