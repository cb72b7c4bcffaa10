"""The printed summary of a `prepare` run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cadenza.corpus.store import describe_validation


def format_summary(summary: dict, output: Path, seconds: float) -> str:
    """A short table of outcomes, the split, the vocabulary, and the skipped files."""
    settings = summary["settings"]
    about = (
        f"representation {settings['representation']}, parser {settings['parser']}, "
        f"tracks: {summary['track_policy']}"
    )
    lines = [f"  {'outcome':<16}{'files':>8}"]
    for outcome, count in summary["outcomes"].items():
        lines.append(f"  {outcome:<16}{count:>8}")
    lines.append(f"  {'(from cache)':<16}{summary['cached_files']:>8}")
    if summary["track_policy_outcomes"]:
        lines += ["", "  track policy on the files kept:"]
        for note, count in summary["track_policy_outcomes"].items():
            lines.append(f"    {count:>6} x {note}")
    if summary.get("encoding_statistics"):
        lines += ["", "  changed by encoding:"]
        for what, count in summary["encoding_statistics"].items():
            lines.append(f"    {count:>6} {what}")
    pieces, tokens = summary["pieces_per_split"], summary["tokens_per_split"]
    trained = ("train", "validation")  # the test split has its own line (frame_datasets.py)
    lines += [
        "",
        split_counts("pieces", summary["piece_count"], pieces, trained),
        split_counts("tokens", summary["tokens"], tokens, trained)
        + f", vocabulary {summary['vocab_size']:,}",
    ]
    held_out = describe_validation(summary)
    if held_out:
        lines.append(f"  {held_out}")
    return format_prepared(summary, output, seconds, about, lines, "piece")


def split_counts(
    what: str, total: int, per_split: dict[str, int], names: Sequence[str] | None = None
) -> str:
    """A summary line such as `  pieces 1,234 (train 1,110, validation 124)`: the count of
    `what` and its share in each split of `names` (None: every split in `per_split`)."""
    shares = ", ".join(f"{name} {per_split[name]:,}" for name in names or per_split)
    return f"  {what} {total:,} ({shares})"


def format_prepared(
    summary: dict, output: Path, seconds: float, about: str, body: list[str], kept: str
) -> str:
    """What every `prepare` summary has around its own `body`: the files prepared, `about`
    (the representation), then the skipped files, a warning when no `kept` ("piece",
    "phrase") was kept, and where the report is."""
    lines = [f"Prepared {summary['file_count']} files in {seconds:.2f} s -> {output}",
             f"  {about}", "", *body]  # fmt: skip
    skipped = summary.get("skipped_files", [])
    if skipped:
        lines += ["", "  skipped files:"]
        for row in skipped:
            lines.append(f"    {Path(row['path']).name}: {row['reason']} ({row['detail']})")
        hidden = sum(v for k, v in summary["outcomes"].items() if k != "ok") - len(skipped)
        if hidden > 0:  # the summary lists the first SKIPPED_LISTED; report.json has all
            lines.append(f"    ... and {hidden} more")
    if not summary[f"{kept}_count"]:
        lines += ["", f"  warning: no {kept} was kept, so there is nothing to train on"]
    lines += ["", f"  report: {output / 'report.json'}, corpus hash {summary['corpus_hash'][:16]}"]
    return "\n".join(lines)
