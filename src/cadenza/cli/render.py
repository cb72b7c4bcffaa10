"""`cadenza render FILE...`: audio, MusicXML, sheet music and a piano roll of score files."""

from __future__ import annotations

import argparse
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from cadenza.cli.flags import add_render_flags, render_settings, say
from cadenza.errors import CadenzaError
from cadenza.outputs.formats import FORMAT_HELP

HELP = "write audio (WAV), MusicXML, sheet music (SVG, PNG) and a piano roll of scores"
DESCRIPTION = (
    "For each score file (MIDI, MusicXML, ABC, Humdrum) write NAME.wav (FluidSynth "
    "with a General MIDI SoundFont), NAME.musicxml (opens in MuseScore), NAME.svg and "
    f"NAME.png (sheet music; more pages as NAME-2.svg ...) and NAME-roll.png. {FORMAT_HELP}."
)


def add_flags(render: argparse.ArgumentParser) -> None:
    """The flags of `cadenza render`."""
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


def run(args: argparse.Namespace) -> int:
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
                                   None if args.quiet else say, args.tune)  # fmt: skip
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
