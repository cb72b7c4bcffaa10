"""Score files read on a pool of worker processes, with a progress bar: the one way both
kinds of `prepare` (token corpora: corpus/prepare.py; phrase corpora: corpus/phrase_corpus.py)
do it.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator

BATCH_FILES = 4096  # files handed to the worker pool at a time

# Set once in each worker process by the pool initializer, so that the work's (possibly
# large) arguments, such as the set of cached hashes, reach a worker once, not with every file.
_WORKER: dict = {}


def _start_worker(work: Callable, arguments: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _WORKER.update(work=work, arguments=arguments)


def _work_in_worker(path: str):
    return _WORKER["work"](path, *_WORKER["arguments"])


def file_results(
    paths: Iterator[str],
    work: Callable,
    arguments: tuple,
    workers: int | None,
    progress: bool,
    total: int | None,
    chunksize: int | None = None,
) -> Iterator:
    """`work(path, *arguments)` for each of `paths`, in their order, on `workers` processes
    (None: one per CPU; in this process when there are few files), under a progress bar of
    `total` files. Paths go to the pool a batch at a time, so that neither the list of paths
    nor finished results pile up in memory; `chunksize` None sizes the pool's chunks by the
    batch."""
    from tqdm import tqdm

    paths = iter(paths)
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=total, unit="file", desc="prepare", disable=not progress, leave=False)
    pool = None
    try:
        batch = list(itertools.islice(paths, BATCH_FILES))
        if workers == 1 or len(batch) < 4 * workers:
            results = (work(path, *arguments) for path in itertools.chain(batch, paths))
        else:
            context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            pool = context.Pool(workers, _start_worker, (work, arguments))
            results = _pooled(pool, batch, paths, workers, chunksize)
        for result in results:
            bar.update()
            yield result
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        bar.close()


def _pooled(pool, batch: list[str], paths: Iterator[str], workers: int, chunksize: int | None):
    while batch:
        chunk = chunksize or max(1, min(64, len(batch) // (workers * 16)))
        pending = pool.imap(_work_in_worker, batch, chunksize=chunk)
        batch = list(itertools.islice(paths, BATCH_FILES))  # read ahead while workers run
        yield from pending
