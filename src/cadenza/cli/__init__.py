"""The `cadenza` command line: one module per sub-command, each with HELP, DESCRIPTION,
`add_flags(parser)` and `run(args)` (flags -> the library's settings -> the library);
flags.py holds the flags several commands share.

Each handler imports what it needs inside itself, so `cadenza prepare` on MIDI files starts
without loading music21 or any neural-network library, and `cadenza --help` without PyTorch.
"""

from __future__ import annotations

import argparse
import gc
import sys
import warnings

from cadenza import __version__
from cadenza.cli import (
    demo,
    evaluate,
    generate,
    harmonize,
    models,
    prepare,
    render,
    serve,
    train,
)
from cadenza.cli.flags import DEFAULT_OUTPUT
from cadenza.errors import CadenzaError

# In the order `cadenza --help` lists them.
COMMANDS = {
    "prepare": prepare,
    "train": train,
    "generate": generate,
    "harmonize": harmonize,
    "demo": demo,
    "evaluate": evaluate,
    "models": models,
    "render": render,
    "serve": serve,
}
MAIN_MODEL = "bach-chorale"  # the built-in model the main job composes with


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all sub-commands."""
    parser = argparse.ArgumentParser(
        prog="cadenza",
        description="Learn music from symbolic scores and compose new pieces. Without a "
        "sub-command: compose with the built-in Bach model and write MIDI, audio, MusicXML, "
        "sheet music and a piano roll into ./cadenza-output.",
    )
    parser.add_argument("--version", action="version", version=f"cadenza {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        command.add_flags(
            commands.add_parser(name, help=command.HELP, description=command.DESCRIPTION)
        )
    return parser


def run_default_job(parser: argparse.ArgumentParser) -> int:
    """The main job: compose with the built-in Bach model and write MIDI, WAV, MusicXML,
    sheet music and a piano roll into ./cadenza-output (seconds on a CPU; nothing to train)."""
    from cadenza.pretrained import available

    if MAIN_MODEL not in available():
        raise CadenzaError(
            f"the built-in model {MAIN_MODEL!r} is not installed; make it with "
            f"`bash scripts/pretrained.sh {MAIN_MODEL}`"
        )
    song = DEFAULT_OUTPUT / f"{MAIN_MODEL}.mid"
    DEFAULT_OUTPUT.mkdir(parents=True, exist_ok=True)
    print(f"Composing with the built-in model {MAIN_MODEL} (a four-part chorale, note by note)")
    return generate.run(
        parser.parse_args(
            ["generate", "--model", MAIN_MODEL, "-o", str(song), "--primer", "none",
             "--length", "1500", "--top-p", "0.8", "--tempo", "72", "--render"]
        )
    )  # fmt: skip


def _format_warning(message, category, filename, lineno, line=None) -> str:
    return f"cadenza: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `cadenza` console script."""
    warnings.formatwarning = _format_warning
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            return run_default_job(parser)
        return COMMANDS[args.command].run(args)
    except CadenzaError as error:
        print(f"cadenza: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # an output folder that cannot be made or written, a full disk
        where = f"{error.filename}: " if error.filename else ""
        print(f"cadenza: error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cadenza: interrupted; no output was changed", file=sys.stderr)
        return 130
    finally:
        if argv is None:  # the console script, about to exit (not a caller in-process)
            # Python's collections at exit would walk every object PyTorch's import made
            # (some 170,000; benchmarks/RESULTS.md, "The command's time"): frozen, they are
            # not walked, and the process ends the sooner.
            gc.freeze()
