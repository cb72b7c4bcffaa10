"""`cadenza render` and `cadenza generate --render`: audio, MusicXML, sheet music, piano roll."""

from __future__ import annotations

import argparse
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from cadenza.errors import CadenzaError


def add_render_command(commands: argparse._SubParsersAction) -> None:
    """Register `cadenza render`."""
    from cadenza.outputs.formats import FORMAT_HELP

    render = commands.add_parser(
        "render",
        help="write audio (WAV), MusicXML, sheet music (SVG, PNG) and a piano roll of scores",
        description="For each score file (MIDI, MusicXML, ABC, Humdrum) write NAME.wav (FluidSynth "
        "with a General MIDI SoundFont), NAME.musicxml (opens in MuseScore), NAME.svg and "
        f"NAME.png (sheet music; more pages as NAME-2.svg ...) and NAME-roll.png. {FORMAT_HELP}.",
    )
    render.add_argument("files", nargs="+", type=Path, metavar="FILE", help="score files")
    render.add_argument(
        "-o", "--output-dir", type=Path, help="folder for the outputs (default: beside each file)"
    )
    add_render_flags(render)
    render.add_argument(
        "--tune", type=int, metavar="N",
        help="of an ABC file of several tunes, render tune N (1-based) as NAME-N.wav ...",
    )  # fmt: skip
    render.add_argument("--quiet", action="store_true", help="no messages")


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
    """RenderSettings from the flags. Without --formats, outputs whose tools are missing are
    left out with a warning; formats asked for by name must all be possible."""
    from cadenza.outputs.audio import AudioSettings
    from cadenza.outputs.render import FORMATS, RenderSettings, missing_tools

    audio = AudioSettings(args.soundfont, args.sample_rate, args.gain)
    if args.formats:
        missing = missing_tools(args.formats, audio)
        if missing:
            raise CadenzaError(next(iter(missing.values())))
        return RenderSettings(args.formats, audio)
    missing = missing_tools(FORMATS, audio)
    if args.soundfont is not None and "wav" in missing:
        raise CadenzaError(missing["wav"])  # a SoundFont given by name must work
    for name, reason in missing.items():
        if not quiet:
            warnings.warn(f"no {name} output: {reason}", stacklevel=2)
    return RenderSettings(tuple(name for name in FORMATS if name not in missing), audio)


def run_render(args: argparse.Namespace) -> int:
    """Handle `cadenza render`: each file in turn; a file that fails is reported at the end,
    after the others are rendered."""
    settings = render_settings(args, args.quiet)
    with _terminate_as_interrupt():
        return _render_files(args, settings)


def _render_files(args: argparse.Namespace, settings) -> int:
    from cadenza.outputs.render import RenderInterrupted, render_file

    failed: list[str] = []
    written: list[Path] = []
    for source in args.files:
        if not args.quiet:
            print(f"Rendering {source} ({', '.join(settings.formats)})", flush=True)
        started = time.perf_counter()
        try:
            rendered = render_file(source, args.output_dir, settings,
                                   None if args.quiet else _say, args.tune)  # fmt: skip
        except RenderInterrupted as stop:
            return _interrupted([*written, *stop.written])
        except KeyboardInterrupt:
            return _interrupted(written)
        except (CadenzaError, OSError) as error:
            failed.append(_sentence(error))
            if not args.quiet and len(args.files) > 1:
                print(f"  not rendered: {failed[-1]}", flush=True)
            continue
        written += [path for paths in rendered.files.values() for path in paths]
        if not args.quiet:
            print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    if len(failed) == 1 and len(args.files) == 1:
        raise CadenzaError(failed[0])
    if failed:
        raise CadenzaError(f"{len(failed)} of {len(args.files)} files not rendered: "
                           + "; ".join(failed))  # fmt: skip
    return 0


@contextmanager
def _terminate_as_interrupt():
    """SIGTERM (`kill`, `timeout`) ends a render as Ctrl-C does: the synthesizer is stopped
    and no temporary file is left (Python's default would exit at once, leaving both)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sentence(error: Exception) -> str:
    if isinstance(error, OSError) and not isinstance(error, CadenzaError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}"
    return str(error)


def _interrupted(written: list[Path]) -> int:
    """Ctrl-C: say which outputs were finished (the one in progress left no file)."""
    import sys

    shown = ", ".join(str(path) for path in written) if written else "nothing"
    print(f"cadenza: interrupted; written before it: {shown} (the output in progress left "
          "no file)", file=sys.stderr)  # fmt: skip
    return 130


def check_render_flags(args: argparse.Namespace) -> None:
    """Before composing: refuse render flags that would fail only after the work was done."""
    if getattr(args, "render", False):
        render_settings(args, quiet=True)
    elif args.formats or args.soundfont is not None:
        warnings.warn("--formats and --soundfont apply only with --render", stacklevel=2)


def render_generated(args: argparse.Namespace, score, midi: Path) -> None:
    """After `generate` wrote `midi`: render it beside itself when --render was given."""
    if not getattr(args, "render", False):
        return
    from cadenza.outputs.render import render_score

    settings = render_settings(args)
    print(f"Rendering {midi} ({', '.join(settings.formats)})", flush=True)
    render_score(score, midi.with_suffix(""), settings, midi, _say)


def _say(line: str) -> None:
    print(line, flush=True)
