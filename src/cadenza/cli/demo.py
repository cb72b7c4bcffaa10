"""`cadenza demo butterfly`: a melody LSTM learns a nursery melody (demos/butterfly.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cadenza.cli.flags import DEFAULT_OUTPUT

HELP = "small built-in demonstrations"
DESCRIPTION = (
    "butterfly: a stateful melody LSTM learns the nursery melody 'Butterfly' "
    "(54 notes, shipped with Cadenza), reports its accuracy, and writes the melody as it "
    "plays it one step at a time (fed the true notes) and free-running (fed its own)."
)


def add_flags(demo: argparse.ArgumentParser) -> None:
    """The flags of `cadenza demo`."""
    demo.add_argument("name", choices=("butterfly",), help="which demonstration")
    demo.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT / "butterfly")
    demo.add_argument("--epochs", type=int, default=1000, help="most epochs (1000)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--tempo", type=float, default=100.0, help="beats per minute (100)")
    demo.add_argument("--instrument", type=int, default=73, help="MIDI program (73: flute)")
    demo.add_argument("--velocity", type=int, default=90, help="note velocity (90)")


def run(args: argparse.Namespace) -> int:
    """Handle `cadenza demo butterfly`."""
    from cadenza.demos.butterfly import check_sound, train_butterfly, write_melody

    check_sound(args.tempo, args.instrument, args.velocity)  # before the training
    run = train_butterfly(args.epochs, args.seed)
    print(f"Trained {run.epochs} epochs in {run.seconds:.1f} s "
          f"(training accuracy in the last epoch {run.training_accuracy:.0%})")  # fmt: skip
    for free_running, name in ((False, "one-step"), (True, "free-running")):
        path = args.output / f"butterfly-{name}.mid"
        write_melody(run.play(free_running), path, args.tempo, args.instrument, args.velocity)
        print(f"  {name:<13} {run.accuracy(free_running):6.1%} of the notes right -> {path}")
    return 0
