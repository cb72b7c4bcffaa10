"""musegan on the Bach chorales inside music21: metrics after a CPU budget, and speed.

    .venv/bin/python -m benchmarks.musegan [--minutes 10] [--threads 1] [--phrases 1000]

Prepares the chorales with `--representation pianoroll`, trains `--model musegan` (default
preset) for `--minutes`, then measures EB, UPC, QN and TD of `--phrases` generated phrases
next to the training phrases' (target: each within 25%), the time to generate one 2-bar
phrase (noise -> generator -> notes -> a four-track score; target: under 50 ms on a CPU), and
the layers computed as matrix products against PyTorch's own convolution kernels.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.results import machine, run_python, write_section

SPEED = """
import json, statistics, sys, time, torch
torch.set_num_threads(1)
from cadenza.generation.phrase_generation import binarize, generate_values
from cadenza.models.musegan import sample_noise
from cadenza.representations.pianoroll import PianorollRepresentation
from cadenza.bundle import load_bundle
bundle = load_bundle(sys.argv[1])
representation = PianorollRepresentation()
generator = torch.Generator().manual_seed(0)
times, network = [], []
for _ in range(60):
    started = time.perf_counter()
    values = generate_values(bundle.model, sample_noise(bundle.model.config, 1, generator))
    network.append(time.perf_counter() - started)
    score = representation.decode(binarize(values).reshape(-1, 4))
    times.append(time.perf_counter() - started)
print(json.dumps({"phrase": statistics.median(times[10:]),
                  "network": statistics.median(network[10:])}))
"""

LAYERS = """
import json, time, torch
from torch.nn import functional as F
from cadenza.models.musegan import BlockConv3d, BlockConvTranspose2d
torch.set_num_threads(1)
def timed(step, repeats=20):
    step()
    started = time.process_time()
    for _ in range(repeats):
        step()
    return (time.process_time() - started) / repeats
up = BlockConvTranspose2d(64, 64, (1, 7))
cells = torch.randn(512, 16, 1, 64)
with torch.no_grad():
    block_up = timed(lambda: up(cells))
    torch_up = timed(lambda: F.conv_transpose2d(cells.permute(0, 3, 1, 2), up.weight, up.bias,
                                                stride=(1, 7)))
down = BlockConv3d(4, 64, (2, 1, 12))
phrases = torch.randn(64, 2, 16, 84, 4)
def penalty(forward):
    def step():
        x = phrases.clone().requires_grad_(True)
        (gradient,) = torch.autograd.grad(forward(x).square().sum(), x, create_graph=True)
        gradient.square().sum().backward()
    return step
block_down = timed(penalty(down))
torch_down = timed(penalty(lambda x: F.conv3d(x.permute(0, 4, 1, 2, 3), down.weight, down.bias,
                                              stride=(2, 1, 12))))
print(json.dumps({"up": [block_up, torch_up], "down": [block_down, torch_down]}))
"""


def prepare(cadenza: str, folder: str) -> tuple[dict, float]:
    started = time.perf_counter()
    command = [cadenza, "prepare", "--corpus", "bach", "--representation", "pianoroll"]
    subprocess.run([*command, "-o", folder, "--quiet"], check=True)
    manifest = json.loads(Path(folder, "manifest.json").read_text())
    return manifest, time.perf_counter() - started


def train(cadenza: str, corpus: str, run: str, minutes: float, threads: int) -> float:
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    started = time.perf_counter()
    command = [cadenza, "train", corpus, "-o", run, "--model", "musegan", "--quiet"]
    subprocess.run([*command, "--epochs", "100000", "--max-minutes", str(minutes)], check=True,
                   env=environment)  # fmt: skip
    return time.perf_counter() - started


def evaluate(cadenza: str, run: str, phrases: int) -> dict:
    command = [cadenza, "evaluate", run, "--phrases", str(phrases)]
    printed = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    print(printed)
    return json.loads(Path(run, "evaluation.json").read_text())


def metric_rows(result: dict) -> list[str]:
    rows = []
    for name, label in (("EB", "empty bars (EB)"), ("UPC", "used pitch classes per bar (UPC)"),
                        ("QN", "qualified notes (QN)"), ("TD", "tonal distance (TD)")):  # fmt: skip
        generated, training = result["generated"][name], result["training"][name]
        relative = result["relative_difference"][name]
        shown = f"{relative:+.1%}" if relative is not None else "n/a"
        met = "yes" if relative is not None and abs(relative) <= 0.25 else "no"
        if name == "EB":
            met = "yes" if abs(generated - training) <= 0.25 * max(training, 0.01) else "no"
        rows.append(f"| {label} | {generated:.4f} | {training:.4f} | {shown} | {met} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS for training")
    parser.add_argument("--phrases", type=int, default=1000, help="phrases to measure")
    parser.add_argument("--keep", type=Path, help="keep the run in this folder")
    args = parser.parse_args()
    cadenza = str(Path(sys.executable).with_name("cadenza"))
    with tempfile.TemporaryDirectory() as scratch:
        corpus = f"{scratch}/bach-roll"
        run = str(args.keep) if args.keep else f"{scratch}/run"
        manifest, prepared = prepare(cadenza, corpus)
        trained = train(cadenza, corpus, run, args.minutes, args.threads)
        result = evaluate(cadenza, run, args.phrases)
        config = json.loads(Path(run, "config.json").read_text())
        speed = run_python(SPEED, run)
        layers = run_python(LAYERS)
        bundle = ("model.safetensors", "primers.safetensors", "config.json")
        size = sum(Path(run, name).stat().st_size for name in bundle)
        load = os.getloadavg()[0]
    summary = config["results"]
    nearest = result["nearest_training_phrase"]
    outcomes = manifest["piece_outcomes"].items()
    skipped = ", ".join(f'{count} "{reason}"' for reason, count in outcomes if reason != "ok")
    voice_bars = manifest["phrases_per_split"]["train"] * 8
    body = f"""## musegan on the Bach chorales (pianoroll: 2 bars x 16 steps x 84 pitches x 4 voices)

Command: `.venv/bin/python -m benchmarks.musegan --minutes {args.minutes:g} --threads {args.threads} --phrases {args.phrases}`
Machine: {machine()}; load average {load:.1f} at the end (other jobs shared the cores)

- Corpus: {manifest["piece_count"]} chorales with four parts in 4/4, {manifest["phrase_count"]:,} phrases (one
  starting at every bar), {manifest["phrases_per_split"]["train"]:,} for training; prepared in {prepared:.0f} s.
  Skipped: {skipped}.
- Training: the default preset, `--max-minutes {args.minutes:g}` (wall clock) with
  OMP_NUM_THREADS={args.threads}: {summary["epochs"]} epochs, {summary["generator_steps"]:,} generator steps (5 critic steps
  each), {trained / 60:.1f} min with start-up. The bundle is {size / 1e6:.1f} MB.

| metric | generated ({args.phrases} phrases) | training phrases | difference | within 25% |
|---|---:|---:|---:|---|
{chr(10).join(metric_rows(result))}

EB of the training data is almost 0 ({round(result["training"]["EB"] * voice_bars)} of {voice_bars:,} voice-bars are silent), so 25% of
it is no tolerance at all: that row is judged against 25% of 1%, i.e. the generated rate
within 0.25 points of the training rate. Copying: on average {nearest["mean_share_differing"]:.0%} of a generated
phrase's 128 voice-steps differ from the nearest training phrase (least {nearest["least_share_differing"]:.0%});
{nearest["copies"]} exact copies.

Generating one 2-bar four-voice phrase on one CPU thread, from noise to a four-track score,
median of 50: **{speed["phrase"] * 1000:.1f} ms** ({speed["network"] * 1000:.1f} ms of it the generator). Target: under 50 ms.

Layers computed as one matrix product, against PyTorch's kernels for the same weights (one
thread, CPU time): the generator's (1, 7) transposed convolution on 512 x 16 cells,
{layers["up"][0] * 1000:.1f} ms against {layers["up"][1] * 1000:.1f} ms (`conv_transpose2d`); the critic's first 3D
convolution with the gradient penalty's double backward, batch 64, {layers["down"][0] * 1000:.1f} ms against
{layers["down"][1] * 1000:.1f} ms (`conv3d`).
"""  # noqa: E501 (markdown lines)
    print(body)
    write_section("musegan", body)


if __name__ == "__main__":
    main()
