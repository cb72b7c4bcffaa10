"""Models on the Bach chorales as piano-roll frames: the test NLL per frame, in nats.

    .venv/bin/python -m benchmarks.frames --minutes 5
    .venv/bin/python -m benchmarks.frames --representation frame-notes \
        --model transformer --preset default --minutes 20 --batch-size 8 \
        --learning-rate 3e-3 --epochs 120 --set dropout=0.0

Every chorale in music21's corpus (350 files) is sampled in quarter-note frames, as JSB
Chorales is, and goes to train, valid or test (60/20/20, JSB's proportions) by the hash of
its file's content. The set is written as .npz and as .mat; both are prepared (the corpus
hashes must agree), `cadenza train --model chord-lstm` learns the .npz corpus for at most
--minutes, and `cadenza evaluate --frames-nll` scores the test split. The corpus is small
(about 12,000 training frames), so batches of 16 windows of 64 frames (not 64 of 100) give
the optimizer enough steps per epoch before early stopping.

With `--representation frame-notes` the same .npz is prepared with each frame spelled as its
keys low to high, then Frame (windows of 256 tokens, about 50 frames, by default); its
`--frames-nll` figure is exact, no mixture, and is set beside chord-lstm's on frame tokens.
`--no-write` prints the section instead of writing it into RESULTS.md. A transformer's step
size follows a cosine over --epochs, not over --minutes: give the epochs that fit the budget
(120 did in 15.5 minutes on one thread), or the step size is still high when time runs out.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.results import machine, write_section


def read_chorale(path: Path) -> tuple[str, object]:
    """(content hash, Score) of one chorale file, for the split and the frames."""
    from cadenza.corpus.worker import content_hash
    from cadenza.music.io import read_score

    return content_hash(path.read_bytes()), read_score(path)


def build_dataset(folder: Path) -> tuple[dict, float]:
    """Write bach-frames.npz and bach-frames.mat into `folder`; return counts and seconds."""
    from cadenza.corpus.embedded import embedded_corpus_files
    from cadenza.corpus.frame_datasets import SPLITS, frame_dataset_from_scores, write_frame_dataset

    started = time.perf_counter()
    files = embedded_corpus_files("bach")
    with multiprocessing.get_context("fork").Pool(2) as pool:
        scores = pool.map(read_chorale, files, chunksize=8)
    dataset = frame_dataset_from_scores(scores, frame_length=1.0, fractions=(0.6, 0.2, 0.2))
    for suffix in ("npz", "mat"):
        write_frame_dataset(dataset, folder / f"bach-frames.{suffix}")
    counts = {
        split: (len(dataset.sequences[split]), dataset.frame_count(split)) for split in SPLITS
    }
    return {"files": len(files), "splits": counts}, time.perf_counter() - started


CHORD_LSTM_FRAMES_NLL = 7.548  # RESULTS.md, section "frames": chord-lstm on frame tokens, 8 min
WINDOWS = {"frames": 64, "frame-notes": 256}  # tokens per window: about 64 and 50 frames


def training_flags(args: argparse.Namespace) -> list[str]:
    window = args.window or WINDOWS[args.representation]
    return ["--model", args.model, "--preset", args.preset, "--batch-size",
            str(args.batch_size), "--window", str(window),
            *optional_flags(args), "--max-minutes", f"{args.minutes:g}",
            *[flag for setting in args.set for flag in ("--set", setting)]]  # fmt: skip


def optional_flags(args: argparse.Namespace) -> list[str]:
    """--learning-rate and --epochs for train, where given (else the model's defaults)."""
    given = {"--learning-rate": args.learning_rate, "--epochs": args.epochs}
    return [part for flag, value in given.items() if value is not None
            for part in (flag, f"{value:g}")]  # fmt: skip


def benchmark_flags(args: argparse.Namespace) -> str:
    """This script's flags that change training, beyond those every command line shows."""
    batch = [] if args.batch_size == 16 else ["--batch-size", str(args.batch_size)]
    window = [] if args.window is None else ["--window", str(args.window)]
    sets = [part for setting in args.set for part in ("--set", setting)]
    return "".join(f" {part}" for part in (*batch, *window, *optional_flags(args), *sets))


def cadenza(*args: str) -> str:
    command = [str(Path(sys.executable).with_name("cadenza")), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=8.0, help="training budget (8)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, help="train's (the model's default)")
    parser.add_argument("--epochs", type=int,
                        help="train's most epochs (200), which also set a transformer's "
                        "cosine step-size schedule: give what fits in --minutes")  # fmt: skip
    parser.add_argument("--window", type=int, help="tokens per window (frames 64, notes 256)")
    parser.add_argument("--representation", choices=sorted(WINDOWS), default="frames")
    parser.add_argument("--model", default="chord-lstm")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--work", type=Path, help="keep the dataset, corpus and run here")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a model setting for train's --set (repeatable)")  # fmt: skip
    parser.add_argument("--no-write", action="store_true", help="print, leave RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        counts, build_seconds = build_dataset(work)
        sizes = {s: (work / f"bach-frames.{s}").stat().st_size for s in ("npz", "mat")}
        hashes = {}
        for suffix in ("npz", "mat"):
            cadenza("prepare", str(work / f"bach-frames.{suffix}"), "-o", str(work / suffix),
                    "--representation", args.representation, "--quiet")  # fmt: skip
            manifest = json.loads((work / suffix / "manifest.json").read_text())
            hashes[suffix] = manifest["corpus_hash"]
        assert hashes["npz"] == hashes["mat"], "the .npz and .mat corpora differ"
        run = work / "run"
        if run.exists():
            raise SystemExit(f"{run} exists: give another --work folder")
        started, load_before = time.perf_counter(), os.getloadavg()[0]
        cadenza("train", str(work / "npz"), "-o", str(run), *training_flags(args), "--quiet")
        train_seconds = time.perf_counter() - started
        config_load = (load_before, os.getloadavg()[0])
        printed = cadenza("evaluate", str(run), "--frames-nll")
        result = json.loads((run / "frames-nll.json").read_text())
        config = json.loads((run / "config.json").read_text())
        config["load_average"] = config_load
        config["curve"] = learning_curve(run / "metrics.csv")
    exact = args.representation == "frame-notes"
    body = (report_notes if exact else report)(
        args, counts, build_seconds, sizes, manifest, result, config, train_seconds
    )
    print(printed + "\n" + body)
    if not args.no_write:
        write_section("frame-notes" if exact else "frames", body)


def learning_curve(metrics: Path) -> dict:
    """The epoch (from 0) of the lowest validation loss, and the last epoch's losses."""
    import csv

    with metrics.open() as file:
        rows = [row for row in csv.DictReader(file) if row.get("val_loss")]
    best = min(range(len(rows)), key=lambda i: float(rows[i]["val_loss"]))
    last = rows[-1]
    return {"best_epoch": best, "last_val": float(last["val_loss"]),
            "last_train": float(last.get("train_loss") or "nan")}  # fmt: skip


def report(args, counts, build_seconds, sizes, manifest, result, config, train_seconds) -> str:
    """The RESULTS.md section."""
    splits = counts["splits"]
    results = config["results"]
    stop = "early stop" if results["stopped_early"] else "budget or epochs"
    unseen, frames = result["test_unseen_frames"], result["test_frames"]
    rows = "\n".join(
        f"| {name} | {count:,} | {frames:,} |" for name, (count, frames) in splits.items()
    )
    return f"""## Frame datasets: chord-lstm on the Bach chorales as quarter-note frames (test NLL per frame)

Command: `.venv/bin/python -m benchmarks.frames --minutes {args.minutes:g}`, which runs
`cadenza prepare bach-frames.npz -o corpus`,
`cadenza train corpus -o run {" ".join(training_flags(args))}` and
`cadenza evaluate run --frames-nll`.
Machine: {machine()} (shared with other work while it ran: timings are noisy)

The {counts["files"]} chorale files of music21's corpus, sampled in quarter-note frames (88 keys, MIDI 21-108) as JSB Chorales is, and split 60/20/20 by the hash of each file; read and written in {build_seconds:.0f} s. The .npz ({sizes["npz"] / 1024:.0f} KiB) and the .mat ({sizes["mat"] / 1024:.0f} KiB) prepare to the same corpus (hash {manifest["corpus_hash"][:16]}), vocabulary {manifest["vocab_size"]:,} tokens.

| split | sequences | frames |
|---|---:|---:|
{rows}

{result["distinct_training_frames"]:,} distinct frames occur in training; {unseen:,} of the {frames:,} test frames ({unseen / frames:.1%}) never do, and get only the Bernoulli part.

| model | test NLL per frame (nats) |
|---|---:|
| chord-lstm (`default` preset) mixed with Bernoulli keys, w = {result["weight"]:.3g} | **{result["test_nll"]:.3f}** |
| independent Bernoulli keys alone (Laplace-smoothed, fitted on the training frames) | {result["test_bernoulli_nll"]:.3f} |
| (chord-lstm alone, on the {frames - unseen:,} test frames seen in training only) | {result["test_model_nll_on_seen_frames"]:.3f} |

Training: {results["epochs"]} epochs in {train_seconds / 60:.1f} min ({stop}), best validation loss {results["best_val_loss"]:.3f} nats per token. The weight w minimizes the validation NLL ({result["validation_nll"]:.3f} nats per frame over {result["validation_frames"]:,} frames). Rule: {result["rule"]}.

Not directly comparable with the published JSB Chorales tables (Boulanger-Lewandowski et al. 2012 and later work): those use their own 229/76/77 split of 382 chorales, while this set is music21's {counts["files"]} chorale files under a hash split, so the pieces, their number and their keys differ. The figure is defined as theirs is (nats per frame over all test frames, each with a finite cost); the same commands on the original `JSB Chorales.pickle` (with `--allow-pickle`) give a comparable one.
"""  # noqa: E501 (a markdown table row is one line)


def report_notes(args, counts, build_seconds, sizes, manifest, result, config, seconds) -> str:
    """The RESULTS.md section of a frame-notes run: the exact figure beside chord-lstm's."""
    results, splits = config["results"], counts["splits"]
    stop = "early stop" if results["stopped_early"] else "budget or epochs"
    flags = " ".join(training_flags(args))
    load, curve = config["load_average"], config["curve"]
    threads = f"CADENZA_THREADS={os.environ.get('CADENZA_THREADS', 'unset')}"
    return f"""## Frame datasets, frame-notes: {args.model} on the Bach chorales, exact test NLL per frame

Command: `.venv/bin/python -m benchmarks.frames --representation frame-notes --model {args.model} --preset {args.preset} --minutes {args.minutes:g}{benchmark_flags(args)}`, which runs
`cadenza prepare bach-frames.npz -o corpus --representation frame-notes`,
`cadenza train corpus -o run {flags}` and `cadenza evaluate run --frames-nll`.
Machine: {machine()}, {threads} (shared with other work while it ran, 1-minute load average {load[0]:.1f} before training and {load[1]:.1f} after: timings are noisy)

The same {counts["files"]} chorales, quarter-note frames and hash split as the `frames` section ({splits["train"][1]:,} / {splits["valid"][1]:,} / {splits["test"][1]:,} train / valid / test frames; built in {build_seconds:.0f} s), each frame spelled as its keys low to high, then `Frame`: vocabulary {manifest["vocab_size"]} tokens (START, 88 keys, Frame), {manifest["tokens_per_split"]["train"]:,} training tokens. The figure is exact: at each step the logits are masked to the keys above the frame's previous key and Frame, so the model is a distribution over all 2^88 frames and needs no Bernoulli mixture.

| model | test NLL per frame (nats) |
|---|---:|
| {args.model} (`{args.preset}` preset) on frame-notes, exact | **{result["test_nll"]:.3f}** |
| chord-lstm on frame tokens mixed with Bernoulli keys (section `frames`) | {CHORD_LSTM_FRAMES_NLL:.3f} |
| independent Bernoulli keys alone (Laplace-smoothed, fitted on the training frames) | {result["test_bernoulli_nll"]:.3f} |

Test: {result["test_sequences"]} sequences, {result["test_frames"]:,} frames, {result["test_tokens"]:,} tokens ({result["test_nll_per_token"]:.3f} nats per token); validation {result["validation_nll"]:.3f} nats per frame. Training: {results["epochs"]} epochs in {seconds / 60:.1f} min ({stop}), best validation loss {results["best_val_loss"]:.3f} nats per token (the unmasked softmax) at epoch {curve["best_epoch"]} (from 0); last epoch's validation loss {curve["last_val"]:.3f} and training loss {curve["last_train"]:.3f} (on transposed windows, with the run's dropout). Rule: {result["rule"]}.
"""  # noqa: E501 (a markdown table row is one line)


if __name__ == "__main__":
    main()
