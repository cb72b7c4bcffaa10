"""Flags that several commands share, and turning them into the library's settings: sampling,
constraints, rendering, threads, the run to compose with and the MIDI file to write.

Nothing heavy is imported at the top: building the parser must not load PyTorch or music21.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cadenza.errors import CadenzaError
from cadenza.threads import THREADS_VARIABLE

DEFAULT_OUTPUT = Path("cadenza-output")
MIDI_SUFFIXES = (".mid", ".midi")


def add_threads_flag(parser: argparse.ArgumentParser, default_help: str) -> None:
    """`--threads N` on a command whose default is `default_help`."""
    parser.add_argument(
        "--threads", type=int, metavar="N",
        help=f"PyTorch threads (default: ${THREADS_VARIABLE}, else {default_help})",
    )  # fmt: skip


def add_sampling_flags(parser: argparse.ArgumentParser) -> None:
    """What `generate` and `harmonize` share: sampling, seed, tempo and key, the
    constraints, rendering and threads."""
    parser.add_argument("--temperature", type=float, default=1.0, help="0 is greedy (1.0)")
    parser.add_argument("--top-k", type=int, default=0, help="keep the k likeliest (0: all)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus share (1: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tempo", type=float, default=120.0, help="beats per minute (120)")
    parser.add_argument(
        "--key", help="key signature to write, e.g. C, A minor, Bb; the tonic for --scale"
    )
    _add_constraint_flags(parser)
    add_render_flags(parser, with_switch=True)
    add_threads_flag(parser, "1: one piece has too little work per step for more")


def _add_constraint_flags(generate: argparse.ArgumentParser) -> None:
    from cadenza.music.scales import SCALES

    rules = generate.add_argument_group(
        "constraints", "masks applied while sampling (a token that breaks them is never drawn)"
    )
    rules.add_argument(
        "--scale", choices=tuple(SCALES), help="only pitches of this scale on the --key tonic"
    )
    rules.add_argument(
        "--pitch-range", nargs=2, metavar=("LOW", "HIGH"),
        help="only pitches from LOW to HIGH: MIDI numbers or names, e.g. C3 C6",
    )  # fmt: skip
    rules.add_argument(
        "--max-repeat", type=_count, metavar="N",
        help="no token more than N times in a row (notes models: no pitch in a voice)",
    )  # fmt: skip
    rules.add_argument(
        "--no-repeat-ngram", type=_count, metavar="N",
        help="no N tokens (events) in a row that already occurred, the primer included",
    )  # fmt: skip
    rules.add_argument(
        "--no-parallels", action="store_true",
        help="no parallel fifths or octaves between voices moving together (notes models)",
    )  # fmt: skip
    rules.add_argument(
        "--end-on-tonic", action="store_true",
        help="finish on the --key tonic (a note or chord of the tonic triad holding the tonic)",
    )  # fmt: skip


def _count(text: str) -> int:
    """A count of 1 or more, checked as the flags are read (leaving the flag out: no limit)."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count} is not 1 or more (leave it out for no limit)")
    return count


def generation_constraints(args: argparse.Namespace):
    """The `Constraints` asked for by the generate flags."""
    from cadenza.generation.constraints import Constraints, parse_pitch
    from cadenza.music.keys import parse_key

    pitch_range = None
    if args.pitch_range:
        pitch_range = (parse_pitch(args.pitch_range[0]), parse_pitch(args.pitch_range[1]))
    return Constraints(
        key=parse_key(args.key) if args.key else None,
        key_name=args.key or "",
        scale=args.scale,
        pitch_range=pitch_range,
        max_repeat=args.max_repeat or 0,  # not given: no limit
        no_repeat_ngram=args.no_repeat_ngram or 0,
        end_on_tonic=args.end_on_tonic,
        no_parallels=args.no_parallels,
    )


def add_render_flags(parser: argparse.ArgumentParser, with_switch: bool = False) -> None:
    """The flags `render` and `generate --render` share (`--render` itself when `with_switch`)."""
    if with_switch:
        parser.add_argument(
            "--render",
            action="store_true",
            help="also write audio, MusicXML, sheet music and a piano roll beside the MIDI file",
        )
    parser.add_argument(
        "--formats",
        type=_format_list,
        help="comma-separated outputs (default: all that the installed tools can make): "
        "wav, musicxml, svg, png, roll",
    )
    parser.add_argument(
        "--soundfont", type=Path, help="General MIDI SoundFont (.sf2) for the audio (Debian's)"
    )
    parser.add_argument("--sample-rate", type=int, default=44100, help="audio Hz (44100)")
    parser.add_argument("--gain", type=float, default=0.6, help="FluidSynth master gain (0.6)")


def _format_list(text: str) -> tuple[str, ...]:
    """ "wav,roll" -> ("wav", "roll"), checked when the flags are read, before any work."""
    from cadenza.outputs.render import RenderSettings

    formats = tuple(name.strip().lower() for name in text.split(",") if name.strip())
    try:
        RenderSettings(formats)
    except CadenzaError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return formats


def render_settings(args: argparse.Namespace, quiet: bool = False):
    """RenderSettings from the render flags (outputs/render.py chooses what is installed)."""
    from cadenza.outputs.audio import AudioSettings
    from cadenza.outputs.render import installed_settings

    audio = AudioSettings(args.soundfont, args.sample_rate, args.gain)
    return installed_settings(args.formats, audio, quiet)


def check_render_flags(args: argparse.Namespace) -> None:
    """Before composing: refuse render flags that would fail only after the work was done,
    and --formats / --soundfont without --render, which would not act."""
    if getattr(args, "render", False):
        render_settings(args, quiet=True)
    elif args.formats or args.soundfont is not None:
        given = [flag for flag, value in (("--formats", args.formats),
                                          ("--soundfont", args.soundfont)) if value]  # fmt: skip
        verb = "chooses" if len(given) == 1 else "choose"
        raise CadenzaError(f"{' and '.join(given)} {verb} what --render writes: add --render")


def render_generated(args: argparse.Namespace, score, midi: Path) -> None:
    """After `generate` wrote `midi`: render it beside itself when --render was given."""
    if not getattr(args, "render", False):
        return
    from cadenza.outputs.render import render_score

    settings = render_settings(args)
    print(f"Rendering {midi} ({', '.join(settings.formats)})", flush=True)
    render_score(score, midi.with_suffix(""), settings, midi, say)


def say(line: str) -> None:
    """Print one progress line at once."""
    print(line, flush=True)


def midi_output(path: Path) -> Path:
    """The MIDI file that `-o PATH` names: PATH.mid when PATH has no suffix (a MIDI file
    opens by its suffix; the "Wrote ... to" line says the name); any suffix other than .mid
    or .midi is refused, since only --render writes audio, notation and pictures."""
    if path.is_dir():
        raise CadenzaError(f"{path}: is a folder; give the MIDI file's name")
    if not path.suffix:
        return path.with_name(path.name + ".mid")
    if path.suffix.lower() not in MIDI_SUFFIXES:
        raise CadenzaError(
            f"-o {path}: the piece is written as a MIDI file (.mid); for audio, notation or "
            f"pictures add --render, which writes them beside it "
            f"(-o {path.with_suffix('.mid')} --render)"
        )
    return path


def model_folder(args: argparse.Namespace) -> Path:
    """The run folder to compose with: RUN, or the shipped model --model NAME."""
    from cadenza.pretrained import resolve_model

    if (args.run is None) == (args.model is None):
        raise CadenzaError("give a run folder or --model NAME (one of them)")
    return args.run if args.model is None else resolve_model(args.model)
