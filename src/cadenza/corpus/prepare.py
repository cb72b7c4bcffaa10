"""`cadenza prepare`: score files -> a tokenized corpus folder, in parallel, with a cache.

The output folder doubles as the cache: files whose content hash (and the settings) match
the previous run's are not parsed again; their tokens are taken from the previous output.
Everything is written to a staging folder that replaces the output only when complete.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from cadenza.atomic import atomic_directory
from cadenza.corpus.store import CorpusWriter
from cadenza.corpus.worker import FileResult, PieceResult, PrepareSettings, process_file
from cadenza.errors import CadenzaError
from cadenza.representations.vocab import Vocabulary

# Set once in each worker process by the pool initializer, so that the (possibly large)
# set of cached hashes is sent to a worker once rather than with every task.
_WORKER_CONTEXT: dict = {}


def prepare_corpus(
    files: list[Path],
    output: str | Path,
    settings: PrepareSettings,
    validation_fraction: float = 0.1,
    workers: int | None = None,
    progress: bool = True,
    sources: list[str] | None = None,
) -> dict:
    """Tokenize `files` into the corpus folder `output` and return the summary."""
    if not files:
        raise CadenzaError(
            "no score files to prepare (looked for .mid .midi .xml .mxl .musicxml .abc .krn)"
        )
    output = Path(output)
    previous = PreviousCorpus.open(output, settings)
    names = [str(path) for path in files]
    with atomic_directory(output) as staging:
        writer = CorpusWriter(staging, validation_fraction)
        for result in _process_all(names, settings, previous.hashes, workers, progress):
            if result.status == "cached":
                writer.add(previous.result_for(result.path, result.content_hash), cached=True)
            else:
                writer.add(result)
        previous.close()
        summary = writer.finish(settings, sources or [f"{len(names)} files"])
        summary["skipped_files"] = writer.skipped
    return summary


def _initialize_worker(settings: PrepareSettings, cached: frozenset[str]) -> None:
    _WORKER_CONTEXT.update(settings=settings, cached=cached)


def _process_in_worker(path: str) -> FileResult:
    return process_file(path, _WORKER_CONTEXT["settings"], _WORKER_CONTEXT["cached"])


def _process_all(
    names: list[str],
    settings: PrepareSettings,
    cached: frozenset[str],
    workers: int | None,
    progress: bool,
) -> Iterator[FileResult]:
    from tqdm import tqdm

    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(names), unit="file", desc="prepare", disable=not progress, leave=False)
    pool = None
    try:
        if workers == 1 or len(names) < 4 * workers:
            results = (process_file(name, settings, cached) for name in names)
        else:
            context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            pool = context.Pool(workers, _initialize_worker, (settings, cached))
            chunk = max(1, min(64, len(names) // (workers * 16)))
            results = pool.imap(_process_in_worker, names, chunksize=chunk)
        for result in results:
            bar.update()
            yield result
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        bar.close()


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
            if manifest.get("settings") != asdict(settings):
                return cache
            cache.vocabulary = Vocabulary.load(folder / "vocab.json").tokens
            cache.tokens = np.load(folder / "tokens.npy", mmap_mode="r")
        except (OSError, ValueError, CadenzaError):
            return cache
        for row in report["files"]:
            if row["hash"]:
                cache.files[row["hash"]] = row
        for row in manifest["pieces"]:
            cache.pieces.setdefault(row["source"], []).append(row)
        cache.hashes = frozenset(cache.files)
        return cache

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
        return FileResult(path, digest, row["status"], row["reason"], row["detail"], pieces)

    def close(self) -> None:
        """Release the memory-mapped token array before the folder is replaced."""
        self.tokens = np.zeros(0, np.uint16)
