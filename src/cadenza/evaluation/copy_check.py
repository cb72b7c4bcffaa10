"""The copy check of `cadenza evaluate --pieces`: how much of a piece the training pieces hold.

For the generated pieces and, as the yardstick, the held-out real pieces (which no model has
seen): the longest run of steps (tokens, or events for pitch-duration) and of bars that a
piece shares with any one training piece, and the share of its n-grams found in the
training data.
"""

from __future__ import annotations

import numpy as np

from cadenza.metrics.copying import CopyIndex, shared_ngram_share
from cadenza.metrics.distribution import summary
from cadenza.metrics.musical import STEPS_PER_QUARTER, measure_steps
from cadenza.music.score import Score


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


def copy_check(reader, training, sets, titles: dict[str, list[str]], n: int) -> dict:
    """Per set ("generated", "validation"): each piece's longest run of steps and of bars shared
    with one training piece, and its n-gram share; with their summary (`reader` a PieceReader)."""
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
