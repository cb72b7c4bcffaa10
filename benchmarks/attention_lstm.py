"""attention-lstm on the corpora inside music21: validation loss, and generation speed.

    .venv/bin/python -m benchmarks.attention_lstm [--minutes 10] [--essen-minutes 5]

Bach chorales (chordified) with the `default` preset (pitch tokens composed from their
pitches) and the `book` preset (one plain softmax over the pitch tokens), and the Essen
folk songs with `default`; each prepared with `--representation pitch-duration` and trained
with `cadenza train --model attention-lstm` (its default 32-event windows, batches of 16,
early stopping on the validation loss, at most `--minutes`). The loss is the sum of the
pitch and duration cross-entropies, as in Generative Deep Learning, whose saved run ends at
training loss 0.53 and validation loss 6.56. Generation: 200 events with the state carried,
median of 5, after a START primer. For the Bach default run, the loss of whole validation
pieces (state carried from START) by position in the piece.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.results import machine, run_python, write_section

GENERATE = """
import json, sys, time, torch
from cadenza.generation.events import generate_events
from cadenza.generation.sampling import SamplingConfig
from cadenza.bundle import load_bundle
bundle = load_bundle(sys.argv[1])
times = []
for seed in range(6):
    generator = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    tokens, _ = generate_events(bundle, [], 200, SamplingConfig(), SamplingConfig(), generator,
                                stop_at_end=False)
    times.append(time.perf_counter() - started)
print(json.dumps({"times": times[1:], "events": len(tokens) // 2}))
"""

BY_POSITION = """
import json, sys, numpy as np, torch
from torch.nn import functional as F
from cadenza.corpus.store import Corpus
from cadenza.representations.pitch_duration import pair_lookup
from cadenza.bundle import load_bundle
bundle, corpus = load_bundle(sys.argv[1]), Corpus(sys.argv[2])
lookup = pair_lookup(corpus.vocabulary.tokens)
losses = {"pitch": [], "duration": [], "position": []}
with torch.no_grad():
    for piece in corpus.piece_indices("validation"):
        ids = torch.from_numpy(lookup[np.asarray(corpus.piece(piece))].reshape(1, -1, 2))
        (pitch, duration), _, _ = bundle.model(ids[:, :-1])
        losses["pitch"] += F.cross_entropy(pitch[0], ids[0, 1:, 0], reduction="none").tolist()
        losses["duration"] += F.cross_entropy(duration[0], ids[0, 1:, 1], reduction="none").tolist()
        losses["position"] += list(range(ids.shape[1] - 1))
pitch, duration = np.array(losses["pitch"]), np.array(losses["duration"])
position = np.minimum(np.array(losses["position"]) // 32, 4)
rows = {int(b): float((pitch + duration)[position == b].mean()) for b in np.unique(position)}
print(json.dumps({"pitch": pitch.mean(), "duration": duration.mean(), "by_position": rows,
                  "events": len(pitch)}))
"""


def train_on(cadenza: str, scratch: str, corpus: str, preset: str, minutes: float) -> dict:
    folder, run = f"{scratch}/{corpus}", f"{scratch}/{corpus}-{preset}-run"
    started = time.perf_counter()
    prepare = [cadenza, "prepare", "--corpus", corpus, "-o", folder, "--quiet"]
    subprocess.run([*prepare, "--representation", "pitch-duration"], check=True)
    prepared = time.perf_counter() - started
    train = [cadenza, "train", folder, "-o", run, "--model", "attention-lstm", "--quiet",
             "--preset", preset]  # fmt: skip
    started = time.perf_counter()
    subprocess.run([*train, "--max-minutes", str(minutes)], check=True, stdout=subprocess.DEVNULL)
    trained = time.perf_counter() - started
    config = json.loads(Path(f"{run}/config.json").read_text())
    rows = Path(f"{run}/metrics.csv").read_text().splitlines()[1:]
    best = min(rows, key=lambda row: float(row.split(",")[2] or "inf")).split(",")
    manifest = json.loads(Path(f"{folder}/manifest.json").read_text())
    return {
        "corpus": corpus,
        "preset": preset,
        "folder": folder,
        "pieces": manifest["piece_count"],
        "events": manifest["tokens"] // 2,
        "prepare_s": prepared,
        "train_s": trained,
        "results": config["results"],
        "best_epoch": int(best[0]) + 1,
        "train_loss_at_best": float(best[1]),
        "run": run,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="Bach training budget")
    parser.add_argument("--essen-minutes", type=float, default=5.0)
    args = parser.parse_args()
    cadenza = str(Path(sys.executable).with_name("cadenza"))
    rows, position = [], None
    with tempfile.TemporaryDirectory() as scratch:
        plan = [("bach", "default", args.minutes), ("bach", "book", args.minutes),
                ("essen", "default", args.essen_minutes)]  # fmt: skip
        for corpus, preset, minutes in plan:
            found = train_on(cadenza, scratch, corpus, preset, minutes)
            speed = run_python(GENERATE, found["run"])
            result = found["results"]
            stop = "early stop" if result["stopped_early"] else "budget"
            rows.append(
                f"| {corpus} | {preset} | {found['pieces']:,} | {found['events']:,} | "
                f"{result['best_val_loss']:.3f} | {found['train_loss_at_best']:.3f} | "
                f"{found['best_epoch']} of {result['epochs']} | {found['train_s'] / 60:.1f} min "
                f"({stop}) | {statistics.median(speed['times']):.3f} s |"
            )
            print(rows[-1], flush=True)
            if (corpus, preset) == ("bach", "default"):
                position = run_python(BY_POSITION, found["run"], found["folder"])
    buckets = " | ".join(
        f"{int(b) * 32}{'+' if int(b) == 4 else f'-{int(b) * 32 + 31}'}: {loss:.2f}"
        for b, loss in position["by_position"].items()
    )
    body = f"""## attention-lstm on the Bach chorales and the Essen folk songs (pitch-duration)

Command: `.venv/bin/python -m benchmarks.attention_lstm --minutes {args.minutes:g} --essen-minutes {args.essen_minutes:g}`
Machine: {machine()}

| corpus | preset | pieces | events | best validation loss | training loss then | best epoch | training time | 200 events generated in |
|---|---|---:|---:|---:|---:|---:|---|---:|
{chr(10).join(rows)}

Bach, `default`, whole validation pieces with the state carried from START
({position["events"]:,} events): pitch {position["pitch"]:.3f} + duration
{position["duration"]:.3f} = {position["pitch"] + position["duration"]:.3f} nats per event;
by position in the piece: {buckets}. The model learns from 32-event windows that start
from a zero state, and its loss grows on events far from any state it was trained from.

Losses are the sum of the pitch and duration cross-entropies (nats per event), on the
validation pieces of the piece-level split. The book's saved run: training loss 0.53,
validation loss 6.56 (its checkpoint and early stop watch the training loss). Targets: a
lower validation loss than 6.56 on the Bach chorales, stopping on the validation loss;
200 events in under 0.5 s.
"""  # noqa: E501 (a markdown table row is one line)
    print(body)
    write_section("attention-lstm", body)


if __name__ == "__main__":
    main()
