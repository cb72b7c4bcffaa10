"""Judge and steer: metrics and copy check of generated Bach pieces, and the constraint figures.

    .venv/bin/python -m benchmarks.judge [--chord-minutes 10] [--attention-minutes 10] \
        [--pieces 50] [--temperatures 1.0 0.8] [--keep runs/judge]

Two small models learn the Bach chorales inside music21: chord-lstm on `chord` tokens and
attention-lstm on `pitch-duration` events (`cadenza prepare --corpus bach`, `cadenza train
--max-minutes`, default presets). For each model and temperature, `--pieces` pieces are
generated from nothing and judged with `cadenza.evaluation.music.judge_run` (the code behind
`cadenza evaluate --pieces`): their metrics beside the training pieces', and the copy check
beside the held-out pieces'. Then the constraints: pieces continuing random training windows,
sampled at temperature 1 and greedily, without and with `--key C --scale major`,
`--max-repeat 4` and `--end-on-tonic`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from itertools import groupby
from pathlib import Path

from benchmarks.results import machine, write_section

MODELS = {  # name -> (representation, model, unit of a step)
    "chord-lstm": ("chord", "chord-lstm", "tokens"),
    "attention-lstm": ("pitch-duration", "attention-lstm", "events"),
}
C_MAJOR = {0, 2, 4, 5, 7, 9, 11}
CONSTRAINT_PIECES, CONSTRAINT_LENGTH = 20, 200


def prepare_and_train(cadenza: str, folder: Path, name: str, minutes: float) -> tuple[Path, dict]:
    """The corpus and the trained run of one model (reused when `folder` already holds them)."""
    representation, model, _ = MODELS[name]
    corpus, run = folder / f"bach-{representation}", folder / f"bach-{name}"
    if not (corpus / "manifest.json").is_file():
        subprocess.run([cadenza, "prepare", "--corpus", "bach", "-o", str(corpus), "--quiet",
                        "--representation", representation], check=True)  # fmt: skip
    started = time.perf_counter()
    if not (run / "config.json").is_file():
        subprocess.run([cadenza, "train", str(corpus), "-o", str(run), "--model", model,
                        "--max-minutes", str(minutes), "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    config = json.loads((run / "config.json").read_text())
    return run, {**config["results"], "seconds": time.perf_counter() - started}


def judge(run: Path, name: str, pieces: int, temperature: float) -> dict:
    from cadenza.evaluation.music import JudgeSettings, judge_run
    from cadenza.evaluation.music_report import format_judgement

    result = judge_run(run, settings=JudgeSettings(pieces=pieces, temperature=temperature))
    print(f"\n{name}, temperature {temperature}\n{format_judgement(result, MODELS[name][2])}")
    return result


def _pitch_classes(tokens: list[str], representation: str) -> list[int]:
    from cadenza.representations.chord import token_pitches
    from cadenza.representations.pitch_duration import event_pitches

    if representation == "chord":
        return [p % 12 for t in tokens for p in token_pitches(t)]
    return [p % 12 for t in tokens[::2] for p in event_pitches(t)]


def _generate(bundle, name: str, temperature: float, constraints, seed: int) -> list[str]:
    import torch

    from cadenza.generation.events import generate_events
    from cadenza.generation.generate import generate_ids, primer_ids
    from cadenza.generation.sampling import SamplingConfig

    generator = torch.Generator().manual_seed(seed)
    primer = primer_ids(bundle, "random", generator)
    sampling = SamplingConfig(temperature)
    if name == "attention-lstm":
        tokens, _ = generate_events(bundle, primer, CONSTRAINT_LENGTH, sampling, sampling,
                                    generator, constraints=constraints)  # fmt: skip
        return tokens
    ids = generate_ids(bundle, primer, CONSTRAINT_LENGTH, sampling, generator, constraints)
    return bundle.vocabulary.decode(ids)


def _is_c_tonic(token: str, representation: str) -> bool:
    """The token holds C and nothing outside C E G (the definition of --end-on-tonic)."""
    classes = set(
        _pitch_classes([token] if representation == "chord" else [token, "0"], representation)
    )
    return 0 in classes and classes <= {0, 4, 7}


def constraint_figures(run: Path, name: str, temperature: float) -> dict:
    """In-scale share, longest run, tonic endings and time per step, without and with."""
    from cadenza.bundle import load_bundle
    from cadenza.generation.constraints import Constraints
    from cadenza.music.keys import parse_key

    bundle, representation = load_bundle(run), MODELS[name][0]
    key = parse_key("C")
    settings = {
        "none": Constraints(),
        "--key C --scale major": Constraints(key=key, key_name="C", scale="major"),
        "--max-repeat 4": Constraints(max_repeat=4),
        "--end-on-tonic": Constraints(key=key, key_name="C", end_on_tonic=True),
    }
    figures = {}
    for label, constraints in settings.items():
        started, steps, pieces = time.perf_counter(), 0, []
        for seed in range(CONSTRAINT_PIECES):
            pieces.append(_generate(bundle, name, temperature, constraints, seed))
            steps += len(pieces[-1]) // (2 if name == "attention-lstm" else 1)
        seconds = time.perf_counter() - started
        classes = [pc for piece in pieces for pc in _pitch_classes(piece, representation)]
        heads = [piece if representation == "chord" else piece[::2] for piece in pieces]
        ends = [_is_c_tonic(head[-1], representation) for head in heads if head]
        figures[label] = {
            "in_scale": sum(pc in C_MAJOR for pc in classes) / len(classes) if classes else None,
            "longest_run": max(len(list(g)) for h in heads for _, g in groupby(h)),
            "tonic_endings": sum(ends) / max(1, len(ends)),
            "ms_per_step": 1000 * seconds / max(1, steps),
            "steps": steps,
        }
    return figures


def _cell(row: dict) -> str:
    return f"{row['mean']:.3f} ± {row['std']:.3f}"


def metric_table(judged: dict[float, dict]) -> str:
    temperatures = list(judged)
    first = judged[temperatures[0]]["metrics"]
    header = (
        "| metric | training | held-out | "
        + " | ".join(f"generated, T={t:g} (distance, overlap)" for t in temperatures)
        + " |"
    )
    lines = [header, "|---" * (3 + len(temperatures)) + "|"]
    for metric, row in first.items():
        cells = []
        for t in temperatures:
            found = judged[t]["metrics"][metric]
            mark = "" if found["distance"] <= 1 else " **>1**"
            cells.append(f"{_cell(found['generated'])} ({found['distance']:.2f}{mark}, "
                         f"{found['overlap']:.2f})")  # fmt: skip
        lines.append(f"| {metric} | {_cell(row['training'])} | {_cell(row['validation'])} | "
                     + " | ".join(cells) + " |")  # fmt: skip
    return "\n".join(lines)


def copy_rows(name: str, judged: dict[float, dict]) -> list[str]:
    rows = []
    sets = [(f"generated, T={t:g}", result["copy"]["generated"]) for t, result in judged.items()]
    sets.append(("held-out real pieces", next(iter(judged.values()))["copy"]["validation"]))
    for label, copy in sets:
        rows.append(
            f"| {name} | {label} | {copy['longest_run_median']:.1f} | {copy['longest_run_max']} | "
            f"{copy['longest_bar_run_median']:.1f} | {copy['longest_bar_run_max']} | "
            f"{copy['ngram_share_mean']:.1%} |"
        )
    return rows


def _share(value: float | None) -> str:
    return "no pitches" if value is None else f"{value:.1%}"


def constraint_rows(name: str, figures: dict[float, dict]) -> list[str]:
    rows = []
    for temperature, by_label in figures.items():
        sampling = "greedy" if temperature == 0 else f"T={temperature:g}"
        for label, found in by_label.items():
            rows.append(
                f"| {name} | {sampling} | {label} | {_share(found['in_scale'])} | "
                f"{found['longest_run']} | {found['tonic_endings']:.0%} | "
                f"{found['ms_per_step']:.2f} |"
            )
    return rows


def verdicts(name: str, judged: dict[float, dict]) -> list[str]:
    lines = []
    for t, result in judged.items():
        far = [m for m, row in result["metrics"].items() if not row["distance"] <= 1]
        copy = result["copy"]
        shorter = copy["generated"]["longest_run_median"] < copy["validation"]["longest_run_median"]
        lines.append(
            f"- {name}, T={t:g}: metrics within one training std: "
            f"{len(result['metrics']) - len(far)} of {len(result['metrics'])}"
            + (f" (not: {', '.join(far)})" if far else "")
            + f"; longest copied run {'shorter' if shorter else 'NOT shorter'} than held-out "
            f"(median {copy['generated']['longest_run_median']:.1f} against "
            f"{copy['validation']['longest_run_median']:.1f}, max "
            f"{copy['generated']['longest_run_max']} against "
            f"{copy['validation']['longest_run_max']})."
        )
    first = next(iter(judged.values()))
    near = sum(row["validation_distance"] <= 1 for row in first["metrics"].values())
    held_out = first["copy"]["validation"]
    lines.append(
        f"- {name}, the yardstick: the held-out real pieces have {near} of "
        f"{len(first['metrics'])} metrics within one training std; the longest run one of them "
        f"shares with a training piece: {held_out['longest_run_max_piece']} with "
        f"{held_out['longest_run_max_from']}, {held_out['longest_run_max']} steps."
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chord-minutes", type=float, default=10.0)
    parser.add_argument("--attention-minutes", type=float, default=10.0)
    parser.add_argument("--pieces", type=int, default=50)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.8])
    parser.add_argument("--keep", type=Path, help="keep (and reuse) corpora and runs here")
    parser.add_argument(
        "--use", nargs=2, type=Path, metavar=("CHORD_RUN", "ATTENTION_RUN"),
        help="judge these trained runs (e.g. the built-in models' runs) instead of training",
    )  # fmt: skip
    args = parser.parse_args()
    cadenza = str(Path(sys.executable).with_name("cadenza"))
    tables, trained, copies, constrained, targets = [], [], [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        for name, minutes in (("chord-lstm", args.chord_minutes),
                              ("attention-lstm", args.attention_minutes)):  # fmt: skip
            if args.use:
                run = args.use[0 if name == "chord-lstm" else 1]
                results = json.loads((run / "config.json").read_text())["results"]
            else:
                run, results = prepare_and_train(cadenza, folder, name, minutes)
            stop = "early stop" if results["stopped_early"] else "budget"
            trained.append(f"| {name} | {results['best_val_loss']:.3f} | {results['epochs']} "
                           f"({stop}) |")  # fmt: skip
            judged = {t: judge(run, name, args.pieces, t) for t in args.temperatures}
            tables.append(
                f"**{name}** ({MODELS[name][0]} representation)\n\n{metric_table(judged)}"
            )
            copies += copy_rows(name, judged)
            targets += verdicts(name, judged)
            figures = {t: constraint_figures(run, name, t) for t in (1.0, 0.0)}
            constrained += constraint_rows(name, figures)
            print("\n".join(constrained[-8:]), flush=True)
    newline = "\n"
    budget = f"--chord-minutes {args.chord_minutes:g} "
    budget += f"--attention-minutes {args.attention_minutes:g}"
    if args.use:
        budget = f"--use {args.use[0]} {args.use[1]}"
    temperatures = " ".join(f"{t:g}" for t in args.temperatures)
    command = (
        f".venv/bin/python -m benchmarks.judge {budget} --pieces {args.pieces} "
        f"--temperatures {temperatures}"
    )
    body = f"""## Judging and steering generated music (Bach chorales)

Command: `{command}`
Machine: {machine()} (shared with other jobs while measured: times are noisy)

| model | best validation loss | epochs |
|---|---:|---|
{newline.join(trained)}

Metrics of {args.pieces} pieces generated from nothing (each as long as a random training
piece) beside the training and held-out pieces, all decoded through the representation:
mean ± std; distance = |mean generated - mean training| / std training (target: at most 1);
overlap = shared area of the two Gaussian kernel density estimates.

{(newline * 2).join(tables)}

Copy check against the training pieces: the longest run of steps (tokens or events) and of
bars a piece shares with one training piece, and the share of its 4-grams in the training data.

| model | pieces | longest run, median | longest run, max | bars, median | bars, max | 4-grams found |
|---|---|---:|---:|---:|---:|---:|
{newline.join(copies)}

Targets:
{newline.join(targets)}

Reading the figures: the held-out real chorales are the yardstick; they meet the metric target,
so a miss measures the model, not the metric. Chord tokens decode to one token every 0.5
quarter, so `empty_beat_rate` and `groove_consistency` hardly vary for chord-lstm. The long
runs that held-out chorales share with training ones are the same chorale tunes harmonised
more than once in music21's corpus.

Constraints: {CONSTRAINT_PIECES} pieces of up to {CONSTRAINT_LENGTH} steps per row, each after a
random training window; in C major = share of generated pitches in the C major scale; longest
run = the most times one token (pitch token for events) follows itself; tonic endings =
share of pieces whose last step holds C and nothing outside C E G. Targets: 100% in scale with
`--key C --scale major`, no run longer than 4 with `--max-repeat 4`.

| model | sampling | constraint | in C major | longest run | tonic endings | ms per step |
|---|---|---|---:|---:|---:|---:|
{newline.join(constrained)}
"""  # noqa: E501 (a markdown table row is one line)
    print(body)
    write_section("judge", body)


if __name__ == "__main__":
    main()
