"""`cadenza prepare PATHS -o CORPUS`: score files, a music21 corpus or a frame dataset -> a
corpus folder (corpus/prepare.py; frame datasets corpus/frame_datasets.py; phrases
corpus/phrase_corpus.py)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cadenza.errors import CadenzaError

HELP = "turn score files into a tokenized corpus"
DESCRIPTION = (
    "Find score files (MIDI, MusicXML, ABC, Humdrum) under PATHS, tokenize them "
    "in parallel and write a corpus folder: tokens.npy, offsets.npy, splits.npy, "
    "vocab.json, manifest.json and report.json. Re-running into the same folder only "
    "parses new or changed files."
)


def add_flags(prepare: argparse.ArgumentParser) -> None:
    """The flags of `cadenza prepare`."""
    prepare.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="score files or folders, or one frame dataset (.npz, .mat, .pickle) whose own "
        "train/valid/test split is kept",
    )
    prepare.add_argument("-o", "--output", type=Path, required=True, help="corpus folder")
    prepare.add_argument(
        "--corpus", choices=("bach", "essen"), help="use a corpus that ships inside music21"
    )
    prepare.add_argument(
        "--representation",
        help="chord (the note/chord tutorial's, default), pitch-duration (with rests), "
        "frames (88-key piano-roll frames, a quarter each; the default for a frame dataset), "
        "frame-notes (each frame as its keys low to high, then Frame; also for a frame dataset), "
        "or pianoroll (four voices in 2-bar phrases for musegan; also reads a JSB .npz)",
    )
    prepare.add_argument(
        "--allow-pickle",
        action="store_true",
        help="let a frame dataset stored as a pickle be read (plain data only)",
    )
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


def run(args: argparse.Namespace) -> int:
    """Handle `cadenza prepare`."""
    from cadenza.corpus.discover import check_paths, count_scores, iter_scores
    from cadenza.corpus.prepare import prepare_corpus
    from cadenza.corpus.prepare_summary import format_summary
    from cadenza.corpus.worker import PrepareSettings
    from cadenza.representations import REPRESENTATIONS, get_representation

    if args.workers is not None and args.workers < 1:
        raise CadenzaError(f"--workers must be at least 1, got {args.workers}")
    if args.parser == "music21" and (args.track or args.drums or args.chord_scope != "piece"):
        raise CadenzaError(
            "--parser music21 reproduces the tutorial's parsing (first instrument part, its own "
            "chords): it takes no --track, --drums or --chord-scope"
        )
    if args.corpus and args.paths:
        raise CadenzaError("give either PATHS or --corpus, not both")
    if not args.corpus and not args.paths:
        raise CadenzaError("nothing to prepare: give score files or folders, or --corpus")
    if getattr(REPRESENTATIONS.get(args.representation), "makes_phrases", False):
        return _prepare_phrases(args)  # four voices as 2-bar phrases (MuseGAN)
    from cadenza.corpus.frame_datasets import is_frame_dataset

    if any(is_frame_dataset(path) for path in args.paths):
        return _prepare_frame_dataset(args)
    if args.corpus:
        from cadenza.corpus.embedded import embedded_corpus_files

        files = embedded_corpus_files(args.corpus)
        sources, total = [f"music21 corpus: {args.corpus}"], len(files)
    else:
        sources = check_paths(args.paths)
        files, total = iter_scores(sources), None if args.quiet else count_scores(sources)
    settings = PrepareSettings(
        representation=args.representation or "chord",
        chord_scope=args.chord_scope,
        parser=args.parser,
        track=args.track,
        include_drums=args.drums,
        min_tokens=args.min_tokens,
    )
    get_representation(settings.representation)  # fail early on an unknown name
    started = time.perf_counter()
    summary = prepare_corpus(
        files, args.output, settings, args.validation, args.workers, not args.quiet, sources, total
    )
    if not args.quiet:
        print(format_summary(summary, args.output, time.perf_counter() - started))
    return 0


def _prepare_frame_dataset(args: argparse.Namespace) -> int:
    """`cadenza prepare DATASET.npz|.mat|.pickle`: frames, with the dataset's own split."""
    from cadenza.corpus.frame_datasets import format_test_split, prepare_frame_dataset
    from cadenza.corpus.prepare_summary import format_summary
    from cadenza.representations import REPRESENTATIONS

    score_only = args.track or args.drums or args.parser != "fast" or args.chord_scope != "piece"
    representation = args.representation or "frames"
    encodes_frames = hasattr(REPRESENTATIONS.get(representation), "frame_tokens")
    if len(args.paths) != 1 or not encodes_frames or score_only:
        raise CadenzaError(
            "a frame dataset (.npz, .mat, .pickle) is prepared alone, in the frames "
            "representation (or frame-notes), without --track, --drums, --parser or --chord-scope"
        )
    started = time.perf_counter()
    summary = prepare_frame_dataset(args.paths[0], args.output, args.allow_pickle, representation)
    if not args.quiet:
        print(format_summary(summary, args.output, time.perf_counter() - started))
        print(format_test_split(summary))
    return 0


def _prepare_phrases(args: argparse.Namespace) -> int:
    """`cadenza prepare --representation pianoroll`: four voices as 2-bar phrases (musegan)."""
    from cadenza.corpus.phrase_corpus import format_phrase_summary, prepare_pianoroll

    if args.parser != "fast" or args.track or args.drums or args.chord_scope != "piece":
        raise CadenzaError(
            "the piano roll takes the four voices of each piece: --parser, --track, --drums "
            "and --chord-scope do not apply to --representation pianoroll"
        )
    started = time.perf_counter()
    summary = prepare_pianoroll(args.paths, args.output, args.corpus, args.validation,
                                args.workers, not args.quiet)  # fmt: skip
    if not args.quiet:
        print(format_phrase_summary(summary, args.output, time.perf_counter() - started))
    return 0
