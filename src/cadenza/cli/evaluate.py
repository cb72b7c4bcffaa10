"""`cadenza evaluate RUN`: a run's accuracy on its validation pieces and the music it makes
(evaluation/); --frames-nll for frame runs, MuseGAN's metrics for musegan runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from cadenza.cli.flags import add_threads_flag, model_folder
from cadenza.errors import CadenzaError
from cadenza.threads import use_threads

HELP = "accuracy on the validation pieces; metrics and copy check of generated pieces"
DESCRIPTION = (
    "Cut the corpus's validation pieces into windows of a primer and a "
    "continuation; report the teacher-forced loss, perplexity and accuracy, and how the "
    "accuracy of free-running (greedy) generation from the same primers drifts step by "
    "step (RUN/evaluation.json). Then generate --pieces pieces and set their musical "
    "metrics beside the training and held-out pieces', with a copy check: the longest run "
    "each shares with a training piece (RUN/music-evaluation.json and .png)."
)


def add_flags(evaluate: argparse.ArgumentParser) -> None:
    """The flags of `cadenza evaluate`."""
    evaluate.add_argument(
        "run",
        type=Path,
        nargs="?",
        help="run folder from `cadenza train` (or a built-in model's name)",
    )
    evaluate.add_argument(
        "--model", help="a built-in model instead (`cadenza models`), on its music21 corpus"
    )
    evaluate.add_argument(
        "--corpus", type=Path,
        help="corpus folder (default: the run's own, found from any folder; for a built-in "
        "model, prepared again from music21 into the cache, once)",
    )  # fmt: skip
    evaluate.add_argument(
        "-o", "--output", type=Path,
        help="folder for the results (default: RUN; --model: cadenza-evaluation/NAME)",
    )  # fmt: skip
    evaluate.add_argument("--primer", type=int, default=32, help="primer steps (32)")
    evaluate.add_argument("--horizon", type=int, default=32, help="continuation steps (32)")
    evaluate.add_argument("--windows", type=int, default=128, help="most windows (128)")
    evaluate.add_argument(
        "--frames-nll",
        action="store_true",
        help="instead: the test NLL per frame in nats of a run on a frame dataset: exact for "
        "frame-notes, mixed with independent Bernoulli keys for frames (weight chosen on "
        "validation); RUN/frames-nll.json",
    )
    evaluate.add_argument(
        "--pieces", type=int, default=20,
        help="pieces to generate and judge against the training data: metrics side by side "
        "and the copy check, into RUN/music-evaluation.json and .png (20; 0 skips this)",
    )  # fmt: skip
    evaluate.add_argument("--ngram", type=int, default=4, help="n of the n-gram figures (4)")
    evaluate.add_argument("--temperature", type=float, default=1.0, help="for the pieces (1.0)")
    evaluate.add_argument("--top-p", type=float, default=1.0, help="for the pieces (1: all)")
    evaluate.add_argument("--seed", type=int, default=0, help="for the pieces (0)")
    evaluate.add_argument(  # musegan runs
        "--phrases", type=int, default=1000, help="musegan: phrases to generate and measure (1000)"
    )
    add_threads_flag(evaluate, "the free cores for the validation pass, 1 for the pieces")


def run(args: argparse.Namespace) -> int:
    """Handle `cadenza evaluate`."""
    from cadenza.generation.phrase_generation import is_phrase_run
    from cadenza.pretrained import available

    use_threads("compose", args.threads)
    named = args.model is None and args.run is not None and not args.run.exists()
    if named and str(args.run) in available():  # `cadenza evaluate bach-chord`
        args.model, args.run = str(args.run), None
    output = args.output or (Path("cadenza-evaluation") / args.model if args.model else None)
    args.run = model_folder(args)
    if is_phrase_run(args.run):  # MuseGAN's metrics of generated phrases
        # a built-in model's results go to cadenza-evaluation/NAME, not into the package
        return _evaluate_phrases(args, output if args.model else None)
    output = output or args.run
    if args.frames_nll:
        from cadenza.evaluation.frames_nll import evaluate_frames, format_frames_nll

        print(format_frames_nll(evaluate_frames(args.run, args.corpus)))
        return 0
    return _evaluate_tokens(args, output)


def _evaluate_tokens(args: argparse.Namespace, output: Path) -> int:
    """The validation pass, then --pieces pieces judged against the training data."""
    from cadenza.evaluation.accuracy import evaluate_run, format_evaluation
    from cadenza.evaluation.music import JudgeSettings, judge_run
    from cadenza.evaluation.music_report import format_judgement

    if args.pieces < 0:
        raise CadenzaError(f"--pieces must be 0 or more, got {args.pieces}")
    settings = (  # checked before the validation pass, which takes a while
        JudgeSettings(args.pieces, args.ngram, args.temperature, args.top_p, seed=args.seed)
        if args.pieces
        else None
    )
    use_threads("train", args.threads)  # batches of windows
    if args.corpus is None:  # found (or rebuilt) once for both passes
        from cadenza.bundle import load_bundle
        from cadenza.evaluation.corpus import find_run_corpus

        args.corpus = find_run_corpus(load_bundle(args.run), need_training=settings is not None)
    result = evaluate_run(args.run, args.corpus, args.primer, args.horizon, args.windows, output)
    heads = ["pitch", "duration"] if len(result["accuracy"]) == 2 else ["token"]
    print(format_evaluation(result, heads))
    if settings is not None:
        use_threads("compose", args.threads)  # one piece at a time
        judged = judge_run(args.run, args.corpus, settings, output)
        print(f"\n{args.pieces} generated pieces against the training data "
              f"(-> {output / 'music-evaluation.png'})\n")  # fmt: skip
        print(format_judgement(judged, "events" if len(heads) == 2 else "tokens"))
    return 0


def _evaluate_phrases(args: argparse.Namespace, output: Path | None) -> int:
    """MuseGAN's metrics of --phrases generated phrases, into `output` (default: RUN)."""
    from cadenza.evaluation.musegan import evaluate_musegan, format_musegan_evaluation

    result = evaluate_musegan(args.run, args.phrases, args.seed, output)
    print(format_musegan_evaluation(result))
    print(f"\n  (also in {(output or Path(args.run)) / 'evaluation.json'})")
    return 0
