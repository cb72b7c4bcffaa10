"""The `cadenza` command line.

Each sub-command imports what it needs inside its handler, so `cadenza prepare` on MIDI
files starts without loading music21 or any neural-network library.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cadenza import __version__
from cadenza.errors import CadenzaError

DEFAULT_OUTPUT = Path("cadenza-output")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all sub-commands."""
    parser = argparse.ArgumentParser(
        prog="cadenza",
        description="Learn music from symbolic scores and compose new pieces. "
        "Without a sub-command: prepare the built-in Bach chorale corpus and print its report.",
    )
    parser.add_argument("--version", action="version", version=f"cadenza {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_prepare(commands)
    return parser


def _add_prepare(commands: argparse._SubParsersAction) -> None:
    prepare = commands.add_parser(
        "prepare",
        help="turn score files into a tokenized corpus",
        description="Find score files (MIDI, MusicXML, ABC, Humdrum) under PATHS, tokenize them "
        "in parallel and write a corpus folder: tokens.npy, offsets.npy, splits.npy, "
        "vocab.json, manifest.json and report.json. Re-running into the same folder only "
        "parses new or changed files.",
    )
    prepare.add_argument("paths", nargs="*", metavar="PATH", help="score files or folders")
    prepare.add_argument("-o", "--output", type=Path, required=True, help="corpus folder")
    prepare.add_argument(
        "--corpus", choices=("bach", "essen"), help="use a corpus that ships inside music21"
    )
    prepare.add_argument("--representation", default="chord", help="token representation")
    prepare.add_argument(
        "--chord-scope",
        choices=("piece", "track"),
        default="piece",
        help="piece: notes of all tracks starting together make one token (default); "
        "track: chords only within a track, as the tutorial's music21 parsing",
    )
    prepare.add_argument(
        "--parser",
        choices=("fast", "music21"),
        default="fast",
        help="fast: symusic for MIDI, music21 for notation files (default); music21: the "
        "tutorial's own parsing of every file, kept as a reference",
    )
    prepare.add_argument(
        "--track", help="use only this track (0-based index or name) instead of merging all"
    )
    prepare.add_argument("--drums", action="store_true", help="keep drum tracks")
    prepare.add_argument(
        "--min-tokens", type=int, default=16, help="skip pieces shorter than this (default 16)"
    )
    prepare.add_argument(
        "--validation", type=float, default=0.1, help="share of pieces for validation (0.1)"
    )
    prepare.add_argument("--workers", type=int, help="parallel processes (default: all cores)")
    prepare.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def run_prepare(args: argparse.Namespace) -> int:
    """Handle `cadenza prepare`."""
    from cadenza.corpus.discover import check_paths, count_scores, iter_scores
    from cadenza.corpus.prepare import prepare_corpus
    from cadenza.corpus.report import format_summary
    from cadenza.corpus.worker import PrepareSettings

    if args.workers is not None and args.workers < 1:
        raise CadenzaError(f"--workers must be at least 1, got {args.workers}")
    if args.corpus and args.paths:
        raise CadenzaError("give either PATHS or --corpus, not both")
    if not args.corpus and not args.paths:
        raise CadenzaError("nothing to prepare: give score files or folders, or --corpus")
    if args.corpus:
        from cadenza.corpus.embedded import embedded_corpus_files

        files = embedded_corpus_files(args.corpus)
        sources, total = [f"music21 corpus: {args.corpus}"], len(files)
    else:
        sources = check_paths(args.paths)
        files, total = iter_scores(sources), None if args.quiet else count_scores(sources)
    settings = PrepareSettings(
        representation=args.representation,
        chord_scope=args.chord_scope,
        parser=args.parser,
        track=args.track,
        include_drums=args.drums,
        min_tokens=args.min_tokens,
    )
    from cadenza.representations import get_representation

    get_representation(settings.representation, scope=settings.chord_scope)  # fail early
    started = time.perf_counter()
    summary = prepare_corpus(
        files, args.output, settings, args.validation, args.workers, not args.quiet, sources, total
    )
    if not args.quiet:
        print(format_summary(summary, args.output, time.perf_counter() - started))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `cadenza` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        default_job = ["prepare", "--corpus", "bach", "-o", str(DEFAULT_OUTPUT / "bach")]
        args = parser.parse_args(default_job)
    handlers = {"prepare": run_prepare}
    try:
        return handlers[args.command](args)
    except CadenzaError as error:
        print(f"cadenza: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cadenza: interrupted; no output was changed", file=sys.stderr)
        return 130
