"""`cadenza harmonize MELODY -o OUT.mid`: alto, tenor and bass composed under a melody
(generation/arrange.py)."""

from __future__ import annotations

import argparse
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from cadenza.cli.flags import (
    add_sampling_flags,
    check_render_flags,
    generation_constraints,
    midi_output,
    render_generated,
)
from cadenza.errors import CadenzaError

DEFAULT_HARMONY_MODEL = "bach-chorale"

HELP = "compose alto, tenor and bass under a melody"
DESCRIPTION = (
    "The melody (MIDI, MusicXML, ABC or Humdrum; one voice, or --track) "
    "becomes the soprano, kept note for note; the model composes the voices under it."
)


def add_flags(harmonize: argparse.ArgumentParser) -> None:
    """The flags of `cadenza harmonize`: its own, and the sampling, constraint and render
    flags that `generate` has."""
    harmonize.add_argument("melody", type=Path, help="the melody's file")
    harmonize.add_argument(
        "run",
        type=Path,
        nargs="?",
        help=f"a notes run folder (default: --model {DEFAULT_HARMONY_MODEL})",
    )
    harmonize.add_argument("--model", help=f"a built-in model ({DEFAULT_HARMONY_MODEL})")
    harmonize.add_argument("-o", "--output", type=Path, required=True, help="MIDI file to write")
    harmonize.add_argument("--track", help="the melody's track of several: index or name")
    harmonize.add_argument(
        "--allow-parallels", action="store_true",
        help="let voices move in parallel fifths and octaves (by default, as in Bach's "
        "chorales, they do not: --no-parallels is on)",
    )  # fmt: skip
    add_sampling_flags(harmonize)


def run(args: argparse.Namespace) -> int:
    """Handle `cadenza harmonize`."""
    with _frozen_imports():
        from cadenza.bundle import load_bundle
        from cadenza.generation.arrange import check_melody, harmonize, read_given_piece
        from cadenza.generation.compose import ComposeSettings
        from cadenza.music.midi import write_midi
        from cadenza.pretrained import resolve_model
        from cadenza.threads import use_threads

    if args.run is not None and args.model is not None:
        raise CadenzaError("give a run folder or --model NAME, not both")
    run = args.run or resolve_model(args.model or DEFAULT_HARMONY_MODEL)
    settings = ComposeSettings(
        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed,
        tempo=args.tempo, key=args.key,
    )  # fmt: skip
    check_render_flags(args)
    args.output = midi_output(args.output)
    if args.allow_parallels and args.no_parallels:
        raise CadenzaError("--allow-parallels and --no-parallels contradict each other")
    # No parallel fifths or octaves unless asked: on 30 held-out sopranos the rule took them
    # from 5.78 to 0.07 per 100 movements (Bach 0.08), chord tones 0.88 -> 0.87 (RESULTS.md)
    constraints = replace(generation_constraints(args), no_parallels=not args.allow_parallels)
    use_threads("compose", args.threads)
    bundle = load_bundle(run)
    melody = check_melody(bundle, read_given_piece(args.melody, None, args.track), str(args.melody))
    print(f"Harmonizing {args.melody} with {args.model or args.run or DEFAULT_HARMONY_MODEL}",
          flush=True)  # fmt: skip
    composition = harmonize(bundle, melody, settings, constraints)
    write_midi(composition.score, args.output)
    print(f"Wrote {composition.summary} to {args.output}")
    render_generated(args, composition.score, args.output)
    return 0


@contextmanager
def _frozen_imports() -> Iterator[None]:
    """Imports without the cyclic garbage collector, and what they made frozen after: PyTorch's
    import makes some 170,000 objects that live as long as the process, and every full
    collection walked them all (0.1 s each under load), during the import and the more as
    Python exits: a quarter of the command's CPU time (benchmarks/RESULTS.md). Frozen, no
    collection visits them; objects made later are collected as ever. (A process that runs
    the command in-process, as the tests do, keeps what was alive then until it ends.)"""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()
