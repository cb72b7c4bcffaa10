"""How many intra-op threads PyTorch gets, chosen per command rather than left to its default.

PyTorch's default is one thread per core. When another job holds some of the cores, its
threads wait on each other at every operation: composing one piece (batch 1, small matrices)
went from 2.6 s to 51 s beside a two-thread job. So:

- composing (generate, the web page, evaluate's pieces) uses one thread: a batch of one has
  too little work per operation for more to help, and one thread cannot be kept waiting;
- training (and evaluate's batched validation pass) uses the cores that are free now:
  cores - round(1-minute load average), at least 1, at most MOST_TRAINING_THREADS.

`--threads N`, else the environment variable CADENZA_THREADS, overrides either choice.
"""

from __future__ import annotations

import os

from cadenza.errors import CadenzaError

THREADS_VARIABLE = "CADENZA_THREADS"
MOST_TRAINING_THREADS = 8  # beyond this the models here gain nothing on a CPU
PURPOSES = ("compose", "train")


def chosen_threads(purpose: str, flag: int | None = None) -> int:
    """The intra-op thread count for `purpose` ("compose" or "train"): the flag's, else
    $CADENZA_THREADS, else the policy above."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown thread purpose {purpose!r}; choose from {PURPOSES}")
    if flag is not None:
        if flag < 1:
            raise CadenzaError(f"--threads must be at least 1, got {flag}")
        return flag
    given = os.environ.get(THREADS_VARIABLE, "").strip()
    if given:
        if not given.isdigit() or int(given) < 1:
            raise CadenzaError(f"{THREADS_VARIABLE} must be a whole number of at least 1, "
                               f"got {given!r}")  # fmt: skip
        return int(given)
    return 1 if purpose == "compose" else free_cores()


def free_cores() -> int:
    """Cores not busy now: the cores this process may use less the 1-minute load average
    (which counts this process too, when it is already running)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this system
        load = 0.0
    return max(1, min(MOST_TRAINING_THREADS, (cores or 1) - round(load)))


def use_threads(purpose: str, flag: int | None = None) -> int:
    """Set PyTorch's intra-op threads for `purpose` and return the count."""
    import torch

    count = chosen_threads(purpose, flag)
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count
