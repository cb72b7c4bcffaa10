"""Chord LSTM under a fixed CPU time budget: the validation loss each configuration reaches.

    .venv/bin/python -m benchmarks.chord_lstm_budget --minutes 10 [--only default tutorial]

Each configuration trains with `cadenza train` (its real settings: AdamW, windows of 100,
batch 64, early stopping with patience 10) on the tutorial's 92 files in the chord
representation, for at most `--minutes`; the table gives the best validation loss and
when the run stopped. The candidates besides `tutorial` and `default` are the ones the
`default` preset was chosen from.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.results import machine, write_section

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = {
    "tutorial": ("tutorial", {}),
    "default": ("default", {}),
    "emb 64, 2 x LSTM 128": ("default", {"embedding_size": 64, "hidden_size": 128}),
    "emb 128, 1 x LSTM 512": ("default", {"hidden_size": 512, "layers": 1}),
    "emb 128, 2 x LSTM 384, dropout 0.3": ("default", {"hidden_size": 384, "dropout": 0.3}),
}


def run(cadenza: str, corpus: str, folder: str, preset: str, overrides: dict, minutes: float):
    settings = [f"--set={key}={json.dumps(value)}" for key, value in overrides.items()]
    started = time.perf_counter()
    subprocess.run(
        [cadenza, "train", corpus, "-o", folder, "--preset", preset, *settings,
         "--max-minutes", str(minutes), "--quiet"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    config = json.loads((Path(folder) / "config.json").read_text())
    weights = (Path(folder) / "model.safetensors").stat().st_size
    return config, seconds, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--midi-dir", type=Path, default=REPO.parent / "shared/data/midi_songs")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES))
    args = parser.parse_args()
    cadenza = str(Path(sys.executable).with_name("cadenza"))
    rows, early = [], []
    with tempfile.TemporaryDirectory() as scratch:
        corpus = f"{scratch}/corpus"
        subprocess.run(
            [cadenza, "prepare", str(args.midi_dir), "-o", corpus, "--quiet"], check=True
        )
        for number, name in enumerate(args.only):
            preset, overrides = CANDIDATES[name]
            config, seconds, size = run(
                cadenza, corpus, f"{scratch}/run{number}", preset, overrides, args.minutes
            )
            results = config["results"]
            stop = "early stop" if results["stopped_early"] else "budget or epochs"
            early.append(results["stopped_early"])
            rows.append(
                f"| {name} | {results['best_val_loss']:.4f} | {results['epochs']} | "
                f"{seconds / 60:.1f} min ({stop}) | {size / 2**20:.1f} MiB |"
            )
            print(rows[-1], flush=True)
    early_note = (
        "Every configuration stopped early (no better validation loss for 10 epochs) well "
        "inside\nthe budget: the corpus has about 36,000 training tokens, and larger networks "
        "overfit it sooner."
        if all(early)
        else ""
    )
    body = f"""## chord-lstm: validation loss within {args.minutes:g} CPU minutes (92 MIDI files, chord tokens)

Command: `.venv/bin/python -m benchmarks.chord_lstm_budget --minutes {args.minutes:g} --only {" ".join(repr(n) if " " in n else n for n in args.only)}`
Machine: {machine()}

| configuration | best validation loss (nats/token) | epochs | stopped after | weights |
|---|---:|---:|---|---:|
{chr(10).join(rows)}

Target: `default` reaches a lower validation loss in 10 CPU minutes than `tutorial` does.
{early_note}
"""  # noqa: E501 (a markdown table row is one line)
    print(body)
    write_section("chord-lstm-budget", body)


if __name__ == "__main__":
    main()
