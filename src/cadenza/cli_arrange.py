"""`cadenza harmonize`, and `generate --regenerate VOICES` / `--infill BARS`: the flags, and
handlers that turn them into settings for generation/arrange.py."""

from __future__ import annotations

import argparse
from pathlib import Path

from cadenza.errors import CadenzaError

DEFAULT_HARMONY_MODEL = "bach-chorale"


def add_harmonize_command(commands: argparse._SubParsersAction, generate_flags) -> None:
    """`cadenza harmonize MELODY -o OUT.mid`; `generate_flags(parser)` adds the sampling,
    constraint and render flags that `generate` has."""
    harmonize = commands.add_parser(
        "harmonize",
        help="compose alto, tenor and bass under a melody",
        description="The melody (MIDI, MusicXML, ABC or Humdrum; one voice, or --track) "
        "becomes the soprano, kept note for note; the model composes the voices under it.",
    )
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
    generate_flags(harmonize)


def add_arrange_flags(generate: argparse.ArgumentParser) -> None:
    """`--regenerate` and `--infill` for `cadenza generate`."""
    group = generate.add_argument_group(
        "given notes", "keep a --primer piece's notes and compose part of it (notes models)"
    )
    group.add_argument(
        "--regenerate", metavar="VOICES",
        help="compose these voices of the --primer piece anew (soprano, alto, tenor, bass, or "
        "numbers; comma-separated), keeping the others note for note",
    )  # fmt: skip
    group.add_argument(
        "--infill", metavar="FIRST-LAST",
        help="compose bars FIRST-LAST of the --primer piece anew between the bars around them",
    )  # fmt: skip


def parse_bars(text: str) -> tuple[int, int]:
    """ "5-8" or "5" -> (5, 8) or (5, 5)."""
    first, _, last = text.partition("-")
    try:
        bars = (int(first), int(last or first))
    except ValueError:
        raise CadenzaError(f"--infill {text}: give bars as FIRST-LAST, e.g. 5-8") from None
    if not 1 <= bars[0] <= bars[1]:
        raise CadenzaError(f"--infill {text}: bars count from 1, FIRST <= LAST")
    return bars


def check_arrange_flags(args: argparse.Namespace) -> None:
    """Refuse --regenerate/--infill combinations that cannot act, before any work."""
    if args.regenerate and args.infill:
        raise CadenzaError("give --regenerate or --infill, not both")
    if (args.regenerate or args.infill) and args.primer in ("random", "none"):
        flag = "--regenerate" if args.regenerate else "--infill"
        raise CadenzaError(f"{flag} needs --primer PIECE (a score file with the given notes)")
    if args.infill:
        parse_bars(args.infill)


def read_given_piece(path: Path, tune: int | None, track: str | None = None):
    """A score file with its tracks kept apart (or one track, `track`)."""
    from cadenza.music.io import read_score
    from cadenza.music.tracks import TrackPolicy, TrackPolicyError, apply_track_policy

    try:
        score, _ = apply_track_policy(read_score(path, tune), TrackPolicy(track, separate=True))
    except TrackPolicyError as error:
        raise CadenzaError(f"{path}: {error}") from None
    return score


def arranged_composition(args: argparse.Namespace, bundle, settings, constraints):
    """The composition `--regenerate` or `--infill` asks for."""
    from cadenza.generation import arrange

    piece = read_given_piece(Path(args.primer), args.tune)
    if args.regenerate:
        voices = arrange.parse_voices(args.regenerate, arrange.voice_count(bundle))
        return arrange.regenerate(bundle, piece, voices, settings, constraints)
    return arrange.infill(bundle, piece, parse_bars(args.infill), settings, constraints)


def run_harmonize(args: argparse.Namespace) -> int:
    """Handle `cadenza harmonize`."""
    from cadenza.cli import generation_constraints, midi_output
    from cadenza.cli_render import check_render_flags, render_generated
    from cadenza.generation.arrange import check_melody, harmonize
    from cadenza.generation.compose import ComposeSettings
    from cadenza.music.midi import write_midi
    from cadenza.pretrained import resolve_model
    from cadenza.threads import use_threads
    from cadenza.training.bundle import load_bundle

    if args.run is not None and args.model is not None:
        raise CadenzaError("give a run folder or --model NAME, not both")
    run = args.run or resolve_model(args.model or DEFAULT_HARMONY_MODEL)
    settings = ComposeSettings(
        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed,
        tempo=args.tempo, key=args.key,
    )  # fmt: skip
    check_render_flags(args)
    args.output = midi_output(args.output)
    constraints = generation_constraints(args)
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
