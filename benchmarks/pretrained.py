"""The built-in models: how they were trained, their size, their losses, how fast they compose.

    bash scripts/pretrained.sh                  # trains them (fixed seeds and epochs)
    .venv/bin/python -m benchmarks.pretrained   # measures what it made

Reads each bundle in src/cadenza/pretrained/ (and its run in build/pretrained/runs/ for the
metrics per epoch). For the attention models, the loss of whole validation pieces by
position, the state carried from START against the state rebuilt as generation does it
(never older than the training window), and the time to compose 200 events; for the chord
model, 500 tokens. Times are medians of 5 after a warm-up, in a fresh process.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.results import machine, run_python, write_section

REPO = Path(__file__).resolve().parents[1]

MEASURE = r"""
import json, statistics, sys, time
import numpy as np, torch
from torch.nn import functional as F
from cadenza.corpus.store import Corpus
from cadenza.generation.events import generate_events
from cadenza.generation.generate import generate_ids
from cadenza.generation.sampling import SamplingConfig
from cadenza.representations.pitch_duration import pair_lookup
from cadenza.bundle import load_bundle

bundle = load_bundle(sys.argv[1])
pairs = bundle.config["model"]["name"] == "attention-lstm"
if bundle.config["model"]["name"] == "musegan":  # one 2-bar phrase, noise to values
    from cadenza.generation.phrase_generation import generate_values, piece_noise
    times = []
    for seed in range(6):
        started = time.perf_counter()
        with torch.inference_mode():
            noise = piece_noise(bundle.model.config, 1, torch.Generator().manual_seed(seed))
            generate_values(bundle.model, noise)
        times.append(time.perf_counter() - started)
    print(json.dumps({"seconds": statistics.median(times[1:]), "what": "one phrase"}))
    sys.exit()
times = []
for seed in range(6):
    generator = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    if pairs:
        generate_events(bundle, [], 200, SamplingConfig(), SamplingConfig(), generator,
                        stop_at_end=False)
    else:
        generate_ids(bundle, bundle.primers[0].tolist(), 500, SamplingConfig(), generator)
    times.append(time.perf_counter() - started)
result = {"seconds": statistics.median(times[1:]), "what": "200 events" if pairs else "500 tokens"}
if pairs:
    corpus = Corpus(bundle.config["corpus"]["path"])
    lookup, window = pair_lookup(corpus.vocabulary.tokens), bundle.config["training"]["window"]
    carried, rebuilt, positions = [], [], []
    with torch.no_grad():
        for piece in corpus.piece_indices("validation")[:400]:
            ids = torch.from_numpy(lookup[np.asarray(corpus.piece(piece))].reshape(-1, 2))
            (pitch, duration), _, _ = bundle.model(ids[None, :-1])
            loss = (F.cross_entropy(pitch[0], ids[1:, 0], reduction="none")
                    + F.cross_entropy(duration[0], ids[1:, 1], reduction="none"))
            carried += loss.tolist()
            positions += list(range(len(ids) - 1))
            age = 0
            for t in range(len(ids) - 1):  # the state generation would hold at step t
                age = age + 1 if age < window else window - window // 4 + 1
                context = ids[None, t + 1 - age : t + 1]
                (pitch, duration), _, _ = bundle.model(context)
                rebuilt.append(float(F.cross_entropy(pitch[0, -1], ids[t + 1, 0])
                                     + F.cross_entropy(duration[0, -1], ids[t + 1, 1])))
    positions = np.minimum(np.array(positions) // 32, 4)
    for name, losses in (("carried", np.array(carried)), ("rebuilt", np.array(rebuilt))):
        result[name] = {"all": float(losses.mean()),
                        "by_position": [float(losses[positions == b].mean())
                                        for b in range(positions.max() + 1)]}
print(json.dumps(result))
"""


def describe(folder: Path) -> dict:
    config = json.loads((folder / "config.json").read_text())
    corpus = json.loads((REPO / config["corpus"]["path"] / "manifest.json").read_text())
    rows = (REPO / "build/pretrained/runs" / folder.name / "metrics.csv").read_text()
    rows = [line.split(",") for line in rows.splitlines()[1:]]
    gan = config["model"]["name"] == "musegan"
    best = None if gan else min(rows, key=lambda row: float(row[2] or "inf"))
    per_step = 2 if config["model"]["name"] == "attention-lstm" else 1
    if config["model"]["name"] == "musegan":
        corpus["tokens"], per_step = corpus["phrase_count"], 0  # phrases, not tokens
    unit = {0: "phrases", 1: "tokens", 2: "events"}[per_step]
    return {
        "name": folder.name,
        "model": f"{config['model']['name']} ({config['model']['preset']})",
        "corpus": f"{Path(config['corpus']['path']).name}: {corpus['piece_count']:,} pieces, "
        f"{corpus['tokens'] // max(per_step, 1):,} {unit}",
        "training": config["training"],
        "results": config["results"],
        "best": best,
        "megabytes": sum(p.stat().st_size for p in folder.iterdir()) / 2**20,
        "measured": run_python(MEASURE, str(folder)),
    }


def main() -> None:
    from cadenza.pretrained import available

    found = [describe(folder) for folder in available().values()]
    rows, notes = [], []
    for model in found:
        training, results, measured = model["training"], model["results"], model["measured"]
        loss = "none: a GAN (the last generator; see the musegan section)"
        if model["best"] is not None:
            loss = (
                f"{results['best_val_loss']:.3f} (epoch {int(model['best'][0]) + 1}; training "
                f"{float(model['best'][1]):.3f})"
            )
        window = "" if model["best"] is None else f"window {training['window']}, "
        rows.append(
            f"| {model['name']} | {model['model']} | {model['corpus']} | "
            f"{window}batch {training['batch_size']}, "
            f"{results['epochs']} epochs, {results['seconds_this_attempt'] / 60:.1f} min | "
            f"{loss} | {model['megabytes']:.1f} MB | "
            f"{measured['what']} in {measured['seconds']:.3f} s |"
        )
        if "carried" in measured:
            spans = ["0-31", "32-63", "64-95", "96-127", "128+"]
            line = "; ".join(
                f"{span}: {measured['carried']['by_position'][i]:.2f} carried, "
                f"{measured['rebuilt']['by_position'][i]:.2f} rebuilt"
                for i, span in enumerate(spans[: len(measured["carried"]["by_position"])])
            )
            notes.append(
                f"- {model['name']}: whole validation pieces, {measured['carried']['all']:.3f} "
                f"nats per event with the state carried from START, "
                f"{measured['rebuilt']['all']:.3f} with it rebuilt as generation does; by "
                f"position: {line}."
            )
    body = f"""## The built-in models

Commands: `bash scripts/pretrained.sh` (training), then `.venv/bin/python -m benchmarks.pretrained`
Machine: {machine()}. Training times are from `scripts/pretrained.sh` while other work shared
the 2 cores, so they are slower than the machine alone.

| name | model | corpus | training | best validation loss | size | composing |
|---|---|---|---|---|---:|---:|
{chr(10).join(rows)}

Losses are nats per step on the validation pieces (attention models: the sum of the pitch
and duration cross-entropies per event, over 32-event windows; the book's saved run: 6.56).

{chr(10).join(notes)}
"""
    print(body)
    write_section("pretrained", body)


if __name__ == "__main__":
    main()
