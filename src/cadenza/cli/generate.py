"""`cadenza generate RUN -o piece.mid`: compose with a trained run or a built-in model.

The flags are checked for the run's model family before any work (a flag the model does not
act on is refused); a token run then composes (generation/compose.py, or around given notes
generation/arrange.py), a musegan run writes phrases from noise (generation/phrase_piece.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cadenza.cli.flags import (
    add_sampling_flags,
    check_render_flags,
    generation_constraints,
    midi_output,
    model_folder,
    render_generated,
)
from cadenza.errors import CadenzaError
from cadenza.generation.phrase_flags import DEFAULT_BARS
from cadenza.threads import use_threads

# What `generate` does alike for every run: where to write, rendering, threads.
EVERY_RUN_FLAGS = frozenset(
    {"command", "run", "model", "output", "render", "formats", "soundfont", "sample_rate",
     "gain", "threads"}
)  # fmt: skip
AUDIO_FLAGS = ("sample_rate", "gain")  # read only by --render's audio

HELP = "compose with a trained model"
DESCRIPTION = "Compose with the model in RUN and write a MIDI file."


def add_flags(generate: argparse.ArgumentParser) -> None:
    """The flags of `cadenza generate`."""
    generate.add_argument(
        "run", type=Path, nargs="?", help="run folder from `cadenza train` (or --model NAME)"
    )
    generate.add_argument(
        "--model", help="a model that ships with Cadenza instead of RUN (`cadenza models`)"
    )
    generate.add_argument(
        "-o", "--output", type=Path, required=True,
        help="MIDI file to write (.mid; a name without a suffix gets .mid)",
    )  # fmt: skip
    # --length, --step and --instrument are None when not given, so that a model that does
    # not act on one can refuse it even when it is given its default value.
    generate.add_argument("--length", type=int, help="tokens to generate (500)")
    generate.add_argument(
        "--primer",
        default="random",
        help="random (a window of the training data), none, or a MIDI/MusicXML file",
    )
    generate.add_argument(
        "--tune", type=int, metavar="N", help="of a --primer ABC file of several, tune N (1-based)"
    )
    generate.add_argument(
        "--pitch-temperature", type=float, help="pitch head, two-stream models (--temperature)"
    )
    generate.add_argument(
        "--duration-temperature", type=float, help="duration head (--temperature)"
    )
    generate.add_argument("--step", type=float, help="quarters per token (0.5)")
    generate.add_argument("--instrument", type=int, help="MIDI program (0: piano)")
    generate.add_argument(
        "--plots",
        action="store_true",
        help="also write PNGs of the predicted pitch probabilities and of the attention "
        "(musegan: a piano roll per voice)",
    )
    add_sampling_flags(generate)
    _add_given_notes_flags(generate)  # notes runs: given notes kept
    _add_musegan_flags(generate)


def _add_given_notes_flags(generate: argparse.ArgumentParser) -> None:
    """`--regenerate` and `--infill`."""
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


def _add_musegan_flags(generate: argparse.ArgumentParser) -> None:
    """`--bars` and `--change` (musegan runs)."""
    group = generate.add_argument_group("musegan", "four-voice phrases from noise")
    group.add_argument(
        "--bars", type=int, help=f"bars to write, 2 per phrase ({DEFAULT_BARS})"
    )  # None when not given: other models refuse it
    group.add_argument(
        "--change",
        metavar="NOISE",
        help="write the piece, then the same with one noise drawn anew: chords, style, "
        "melody:VOICE or groove:VOICE (VOICE: soprano, alto, tenor, bass or 1..4)",
    )


def run(args: argparse.Namespace) -> int:
    """Handle `cadenza generate`: -o, the constraints and the flags checked for the run's
    model family, which then composes."""
    from cadenza.bundle import read_run_config
    from cadenza.generation.phrase_generation import is_phrase_run

    args.run = model_folder(args)
    use_threads("compose", args.threads)
    args.output = midi_output(args.output)
    constraints = generation_constraints(args)
    config = read_run_config(args.run)
    model = f"{args.model or args.run} ({config.model_name}, {config.representation_name})"
    if is_phrase_run(args.run):  # four-voice phrases from noise
        from cadenza.generation.phrase_flags import GENERATE_FLAGS, NOT_TOKENS

        refuse_idle_flags(args, GENERATE_FLAGS, model, NOT_TOKENS)
        return _generate_phrases(args, constraints)
    from cadenza.generation.compose import generate_flags

    refuse_idle_flags(args, generate_flags(config, bool(args.regenerate or args.infill)), model)
    return _generate_tokens(args, constraints)


def _generate_tokens(args: argparse.Namespace, constraints) -> int:
    """`cadenza generate` for a token model (its flags checked)."""
    from cadenza.bundle import load_bundle
    from cadenza.generation.arrange import check_given_notes
    from cadenza.generation.compose import ComposeSettings, compose
    from cadenza.generation.plots import plot_generation
    from cadenza.music.midi import write_midi

    given = {name: getattr(args, name) for name in ("length", "step", "instrument")}
    settings = ComposeSettings(  # checks every setting before the run is loaded
        **{name: value for name, value in given.items() if value is not None},
        primer=args.primer,
        temperature=args.temperature,
        pitch_temperature=args.pitch_temperature,
        duration_temperature=args.duration_temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        tempo=args.tempo,
        key=args.key,
        tune=args.tune,
    )
    check_render_flags(args)  # a bad --soundfont is found before composing, not after
    check_given_notes(args.regenerate, args.infill, args.primer)
    bundle = load_bundle(args.run)
    model = args.model or args.run
    if args.regenerate:  # the given piece decides the length
        print(f"Composing {args.regenerate} anew in {args.primer} with {model}", flush=True)
    elif args.infill:
        print(f"Composing bars {args.infill} of {args.primer} with {model}", flush=True)
    else:
        print(f"Composing up to {settings.length} steps with {model}", flush=True)
    if args.regenerate or args.infill:
        composition = _around_given_notes(args, bundle, settings, constraints)
    else:
        composition = compose(bundle, settings, constraints)
    score, trace = composition.score, composition.trace
    write_midi(score, args.output)
    print(f"Wrote {composition.summary} to {args.output}")
    render_generated(args, score, args.output)
    if args.plots and trace is not None:  # only two-stream models act on --plots
        for path in plot_generation(trace, args.output.with_suffix("")):
            print(f"  picture: {path}")
    return 0


def _around_given_notes(args: argparse.Namespace, bundle, settings, constraints):
    """The composition `--regenerate` or `--infill` asks for."""
    from cadenza.generation import arrange

    piece = arrange.read_given_piece(Path(args.primer), args.tune)
    if args.regenerate:
        voices = arrange.parse_voices(args.regenerate, arrange.voice_count(bundle))
        return arrange.regenerate(bundle, piece, voices, settings, constraints)
    return arrange.infill(bundle, piece, arrange.parse_bars(args.infill), settings, constraints)


def _generate_phrases(args: argparse.Namespace, constraints) -> int:
    """`cadenza generate` for a musegan run (its flags checked); the scale and range of
    `constraints` mask the generator's pitches."""
    from cadenza.bundle import load_bundle
    from cadenza.generation.phrase_piece import check_phrase_flags, phrase_piece
    from cadenza.music.midi import write_midi

    bars = DEFAULT_BARS if args.bars is None else args.bars
    instrument = 0 if args.instrument is None else args.instrument
    if bars < 1:
        raise CadenzaError(f"--bars must be at least 1, got {bars}")
    change = check_phrase_flags(instrument, args.tempo, args.seed, args.change)
    check_render_flags(args)  # a bad --soundfont is found before composing, not after
    bundle = load_bundle(args.run)
    piece = phrase_piece(bundle, bars, change, args.seed, constraints, instrument, args.tempo)
    write_midi(piece.score, args.output)
    print(f"Wrote {piece.summary} to {args.output}")
    if bundle.primers is None:
        print("  (the bundle's training phrases are missing: no nearest phrase to show)")
    for line in piece.nearest:
        print(f"  {line}")
    if args.plots:
        from cadenza.generation.roll_plots import plot_voices

        stem = args.output.with_suffix("")
        lowest = bundle.run_config.representation_settings["lowest_pitch"]
        for path in plot_voices(piece.picture, piece.grid, stem, lowest):
            print(f"  picture: {path}")
    render_generated(args, piece.score, args.output)  # --render: audio, notation, pictures
    return 0


def refuse_idle_flags(
    args: argparse.Namespace, acted_on: frozenset[str], model: str, why: str = ""
) -> None:
    """Refuse, before any work, the generate flags given (with a value other than their
    default) that `model` does not act on, or that only --render reads: one sentence naming
    them and the model (--formats and --soundfont without --render: `check_render_flags`)."""
    given = _given_flags(args)
    idle = [name for name in given if name not in acted_on | EVERY_RUN_FLAGS]
    if idle:
        verb, them = ("does", "it") if len(idle) == 1 else ("do", "them")
        reason = f" ({why})" if why else ""
        raise CadenzaError(f"{_flags(idle)} {verb} not act on {model}: leave {them} out{reason}")
    audio = [name for name in AUDIO_FLAGS if name in given]
    if audio and not args.render:
        verb = "sets" if len(audio) == 1 else "set"
        raise CadenzaError(f"{_flags(audio)} {verb} the audio of --render: add --render")


def _given_flags(args: argparse.Namespace) -> list[str]:
    """The generate flags (argparse names) whose values are not their defaults."""
    from cadenza.cli import build_parser

    defaults = vars(build_parser().parse_args(["generate", "-o", "x.mid"]))
    return [name for name, default in defaults.items() if getattr(args, name, default) != default]


def _flags(names: list[str]) -> str:
    """["top_k", "top_p", "bars"] -> "--top-k, --top-p and --bars"."""
    flags = ["--" + name.replace("_", "-") for name in names]
    return ", ".join(flags[:-1]) + " and " + flags[-1] if len(flags) > 1 else flags[0]
