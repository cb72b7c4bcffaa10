"""The `cadenza` command line.

Each sub-command imports what it needs inside its handler, so `cadenza prepare` on MIDI
files starts without loading music21 or any neural-network library.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from cadenza import __version__
from cadenza.cli_arrange import add_harmonize_command, run_harmonize
from cadenza.cli_render import (
    add_render_command,
    add_render_flags,
    check_render_flags,
    render_generated,
    run_render,
)
from cadenza.errors import CadenzaError
from cadenza.threads import MOST_TRAINING_THREADS, add_threads_flag, use_threads
from cadenza.web.command import add_serve_command, run_serve

DEFAULT_OUTPUT = Path("cadenza-output")


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
    _add_prepare(commands)
    _add_train(commands)
    _add_generate(commands)
    add_harmonize_command(commands, _add_sampling_flags)
    _add_demo(commands)
    _add_evaluate(commands)
    _add_models(commands)
    add_render_command(commands)
    add_serve_command(commands)
    return parser


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="accuracy on the validation pieces; metrics and copy check of generated pieces",
        description="Cut the corpus's validation pieces into windows of a primer and a "
        "continuation; report the teacher-forced loss, perplexity and accuracy, and how the "
        "accuracy of free-running (greedy) generation from the same primers drifts step by "
        "step (RUN/evaluation.json). Then generate --pieces pieces and set their musical "
        "metrics beside the training and held-out pieces', with a copy check: the longest run "
        "each shares with a training piece (RUN/music-evaluation.json and .png).",
    )
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
    from cadenza.generation.phrase_flags import add_evaluate_flags

    add_evaluate_flags(evaluate)  # musegan runs
    add_threads_flag(evaluate, "the free cores for the validation pass, 1 for the pieces")


def run_evaluate(args: argparse.Namespace) -> int:
    """Handle `cadenza evaluate`."""
    from cadenza.evaluation.accuracy import evaluate_run, format_evaluation
    from cadenza.generation.phrases import is_musegan_run
    from cadenza.pretrained import available

    use_threads("compose", args.threads)
    named = args.model is None and args.run is not None and not args.run.exists()
    if named and str(args.run) in available():  # `cadenza evaluate bach-chord`
        args.model, args.run = str(args.run), None
    output = args.output or (Path("cadenza-evaluation") / args.model if args.model else None)
    args.run = _model_folder(args)
    output = output or args.run
    if is_musegan_run(args.run) and args.model:  # not into the package's own folder
        from cadenza.evaluation.musegan import evaluate_musegan, format_musegan_evaluation

        result = evaluate_musegan(args.run, args.phrases, args.seed, output)
        print(format_musegan_evaluation(result))
        print(f"\n  (also in {output / 'evaluation.json'})")
        return 0
    if is_musegan_run(args.run):  # MuseGAN's metrics of generated phrases
        from cadenza.generation.phrase_commands import run_evaluate_musegan

        return run_evaluate_musegan(args)

    if args.frames_nll:
        from cadenza.evaluation.frames import evaluate_frames, format_frames_nll

        print(format_frames_nll(evaluate_frames(args.run, args.corpus)))
        return 0
    if args.pieces < 0:
        raise CadenzaError(f"--pieces must be 0 or more, got {args.pieces}")
    from cadenza.evaluation.music import JudgeSettings, judge_run
    from cadenza.evaluation.music_report import format_judgement

    settings = (  # checked before the validation pass, which takes a while
        JudgeSettings(args.pieces, args.ngram, args.temperature, args.top_p, seed=args.seed)
        if args.pieces
        else None
    )
    use_threads("train", args.threads)  # batches of windows
    if args.corpus is None:  # found (or rebuilt) once for both passes
        from cadenza.evaluation.corpus import find_run_corpus
        from cadenza.training.bundle import load_bundle

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


def _add_demo(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo",
        help="small built-in demonstrations",
        description="butterfly: a stateful melody LSTM learns the nursery melody 'Butterfly' "
        "(54 notes, shipped with Cadenza), reports its accuracy, and writes the melody as it "
        "plays it one step at a time (fed the true notes) and free-running (fed its own).",
    )
    demo.add_argument("name", choices=("butterfly",), help="which demonstration")
    demo.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT / "butterfly")
    demo.add_argument("--epochs", type=int, default=1000, help="most epochs (1000)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--tempo", type=float, default=100.0, help="beats per minute (100)")
    demo.add_argument("--instrument", type=int, default=73, help="MIDI program (73: flute)")
    demo.add_argument("--velocity", type=int, default=90, help="note velocity (90)")


def run_demo(args: argparse.Namespace) -> int:
    """Handle `cadenza demo butterfly`."""
    from cadenza.demos.butterfly import train_butterfly, write_melody

    if not 0 <= args.instrument <= 127 or not 1 <= args.velocity <= 127 or args.tempo <= 0:
        raise CadenzaError(
            "--instrument must be 0..127, --velocity 1..127 and --tempo positive, got "
            f"{args.instrument}, {args.velocity}, {args.tempo}"
        )
    run = train_butterfly(args.epochs, args.seed)
    print(f"Trained {run.epochs} epochs in {run.seconds:.1f} s "
          f"(training accuracy in the last epoch {run.training_accuracy:.0%})")  # fmt: skip
    for free_running, name in ((False, "one-step"), (True, "free-running")):
        path = args.output / f"butterfly-{name}.mid"
        write_melody(run.play(free_running), path, args.tempo, args.instrument, args.velocity)
        print(f"  {name:<13} {run.accuracy(free_running):6.1%} of the notes right -> {path}")
    return 0


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train a model on a prepared corpus",
        description="Train a model on a corpus made by `cadenza prepare`, into the run folder "
        "RUN: checkpoints (for --resume), then the bundle (model.safetensors, config.json, "
        "vocab.json), metrics.csv and loss.png.",
    )
    train.add_argument(
        "corpus", type=Path, nargs="?",
        help="corpus folder from `cadenza prepare` (with --resume: the run's own by default)",
    )  # fmt: skip
    train.add_argument("-o", "--output", type=Path, required=True, help="run folder")
    train.add_argument("--model", default="chord-lstm", help="model name (chord-lstm)")
    train.add_argument(
        "--preset", default="default", help="default, tutorial or tiny (musegan: default, book)"
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting of the preset, e.g. --set hidden_size=384 (repeatable)",
    )
    train.add_argument(
        "--window", type=int, help="steps per window (100; attention-lstm: 32 events)"
    )
    train.add_argument(
        "--batch-size", type=int, help="windows per batch (64; attention-lstm: 16; musegan: 32)"
    )
    train.add_argument("--learning-rate", type=float, help="Adam's step size (2e-3; musegan: 1e-3)")
    # None when not given: --resume then keeps the run's own budget
    train.add_argument("--epochs", type=int, help="most epochs (200; --resume: the run's)")
    train.add_argument("--patience", type=int, help="early-stopping patience (10; the run's)")
    train.add_argument("--max-minutes", type=float, help="stop after this many minutes")
    train.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (0: off)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--resume", action="store_true", help="continue the run in RUN")
    train.add_argument("--accelerator", default="auto", help="auto (a GPU if present), cpu, gpu")
    train.add_argument("--devices", default="1", help="devices per node, or auto")
    train.add_argument("--num-nodes", type=int, default=1, help="nodes for DDP")
    train.add_argument(
        "--precision", default="32-true", help="Lightning's: 32-true, bf16-mixed, 16-mixed..."
    )
    train.add_argument(
        "--transpose", nargs=2, type=int, metavar=("LOW", "HIGH"),
        help="transpose each training window by LOW..HIGH semitones (note-level "
        "representations: -5 6 by default; 0 0 switches it off)",
    )  # fmt: skip
    train.add_argument(
        "--fill-in-the-middle", type=float, metavar="SHARE",
        help="share of training windows rearranged as prefix, suffix, middle, so the model can "
        "fill in bars (notes: 0.25 by default; 0 switches it off)",
    )  # fmt: skip
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_flag(train, f"the free cores, at most {MOST_TRAINING_THREADS}")


def _add_generate(commands: argparse._SubParsersAction) -> None:
    generate = commands.add_parser(
        "generate",
        help="compose with a trained model",
        description="Compose with the model in RUN and write a MIDI file.",
    )
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
    _add_sampling_flags(generate)
    from cadenza.cli_arrange import add_arrange_flags
    from cadenza.generation.phrase_flags import add_generate_flags

    add_arrange_flags(generate)  # notes runs: given notes kept
    add_generate_flags(generate)  # musegan runs


def _add_sampling_flags(parser: argparse.ArgumentParser) -> None:
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
        "--max-repeat", type=_count, metavar="N", help="no token more than N times in a row"
    )
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


def run_train(args: argparse.Namespace) -> int:
    """Handle `cadenza train`."""
    use_threads("train", args.threads)  # first: a bad --threads is refused before the imports
    from cadenza.training.train import TrainConfig, run_corpus, train

    if args.corpus is None and not args.resume:
        raise CadenzaError("give the corpus folder (only --resume can take it from the run)")
    corpus = args.corpus if args.corpus is not None else run_corpus(args.output)
    budget = {"max_epochs": args.epochs, "patience": args.patience, "max_minutes": args.max_minutes}
    given = {name for name, value in budget.items() if value is not None}
    config = TrainConfig(
        preset=args.preset,
        model_overrides=_parse_overrides(args.set),
        model=args.model,
        window=args.window,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        **{name: budget[name] for name in given},
        gradient_clip=args.clip,
        seed=args.seed,
        accelerator=args.accelerator,
        devices=args.devices,
        num_nodes=args.num_nodes,
        precision=args.precision,
        progress=not args.quiet,
        transpose=args.transpose,
        fill_in_the_middle=args.fill_in_the_middle,
    )
    summary = train(corpus, args.output, config, resume=args.resume, given=given)
    if summary.get("exported") == "last":  # a GAN (musegan): no validation loss
        steps = summary["generator_steps"]
        print(f"Trained {summary['epochs']} epochs ({steps} generator steps) -> {args.output}")
    elif summary:
        best = summary["best_val_loss"]
        shown = f"{best:.4f}" if best is not None else "none (no epoch finished)"
        print(f"Trained {summary['epochs']} epochs, best validation loss {shown} -> {args.output}")
        if summary.get("validation", "whole pieces") != "whole pieces":
            print(f"  ({summary['validation']})")
    return 0


def _parse_overrides(pairs: list[str]) -> dict:
    """["hidden_size=384", "batch_norm=true"] -> {"hidden_size": 384, "batch_norm": True}."""
    import json

    overrides = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise CadenzaError(f"--set expects KEY=VALUE, got {pair!r}")
        try:
            overrides[key.strip()] = json.loads(value.strip().lower())
        except ValueError:
            raise CadenzaError(f"--set {pair}: the value must be a number or true/false") from None
    return overrides


def run_generate(args: argparse.Namespace) -> int:
    """Handle `cadenza generate`: -o, the constraints and the flags checked for the run's
    model family, which then composes."""
    from cadenza.generation.phrases import is_musegan_run

    args.run = _model_folder(args)
    use_threads("compose", args.threads)
    args.output = midi_output(args.output)
    constraints = generation_constraints(args)
    config = _run_config(args.run)
    model = f"{args.model or args.run} ({config['model']['name']}, "
    model += f"{config['representation']['name']})"
    if is_musegan_run(args.run):  # four-voice phrases from noise
        from cadenza.generation.phrase_commands import run_generate_musegan
        from cadenza.generation.phrase_flags import GENERATE_FLAGS, NOT_TOKENS

        refuse_idle_flags(args, GENERATE_FLAGS, model, NOT_TOKENS)
        return run_generate_musegan(args, constraints)
    from cadenza.generation.compose import generate_flags

    refuse_idle_flags(args, generate_flags(config, bool(args.regenerate or args.infill)), model)
    return _generate_tokens(args, constraints)


def _generate_tokens(args: argparse.Namespace, constraints) -> int:
    """`cadenza generate` for a token model (its flags checked)."""
    from cadenza.cli_arrange import arranged_composition, check_arrange_flags
    from cadenza.generation.compose import ComposeSettings, compose
    from cadenza.generation.plots import plot_generation
    from cadenza.music.midi import write_midi
    from cadenza.training.bundle import load_bundle

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
    check_arrange_flags(args)
    bundle = load_bundle(args.run)
    print(f"Composing up to {settings.length} steps with {args.model or args.run}", flush=True)
    if args.regenerate or args.infill:
        composition = arranged_composition(args, bundle, settings, constraints)
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


# What `generate` does alike for every run: where to write, rendering, threads.
EVERY_RUN_FLAGS = frozenset(
    {"command", "run", "model", "output", "render", "formats", "soundfont", "sample_rate",
     "gain", "threads"}
)  # fmt: skip
AUDIO_FLAGS = ("sample_rate", "gain")  # read only by --render's audio


def refuse_idle_flags(
    args: argparse.Namespace, acted_on: frozenset[str], model: str, why: str = ""
) -> None:
    """Refuse, before any work, the generate flags given (with a value other than their
    default) that `model` does not act on, or that only --render reads: one sentence naming
    them and the model. (Without --render, --formats and --soundfont are warned about.)"""
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
    defaults = vars(build_parser().parse_args(["generate", "-o", "x.mid"]))
    return [name for name, default in defaults.items() if getattr(args, name, default) != default]


def _flags(names: list[str]) -> str:
    """["top_k", "top_p", "bars"] -> "--top-k, --top-p and --bars"."""
    flags = ["--" + name.replace("_", "-") for name in names]
    return ", ".join(flags[:-1]) + " and " + flags[-1] if len(flags) > 1 else flags[0]


MIDI_SUFFIXES = (".mid", ".midi")


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


def _run_config(run: Path) -> dict:
    """RUN's config.json, read before the weights so that flags are checked first."""
    import json

    from cadenza.training.bundle import load_bundle

    try:
        config = json.loads((Path(run) / "config.json").read_text("utf-8"))
        if "name" in config["model"] and {"name", "settings"} <= set(config["representation"]):
            return config
    except (OSError, ValueError, KeyError, TypeError):
        pass
    load_bundle(run)  # says what is wrong with the run in one sentence
    raise CadenzaError(f"{run}: not a trained run (its config.json is damaged)")


def _model_folder(args: argparse.Namespace) -> Path:
    """The run folder to compose with: RUN, or the shipped model --model NAME."""
    from cadenza.pretrained import resolve_model

    if (args.run is None) == (args.model is None):
        raise CadenzaError("give a run folder or --model NAME (one of them)")
    return args.run if args.model is None else resolve_model(args.model)


def _add_models(commands: argparse._SubParsersAction) -> None:
    commands.add_parser(
        "models",
        help="list the models that ship with Cadenza",
        description="List the trained models inside the package, for `generate --model NAME`.",
    )


def run_models(args: argparse.Namespace) -> int:
    """Handle `cadenza models`."""
    import json

    from cadenza.pretrained import available

    models = available()
    if not models:
        print("No built-in models are installed (make them with scripts/pretrained.sh).")
    for name, folder in models.items():
        config = json.loads((folder / "config.json").read_text("utf-8"))
        corpus = Path(config["corpus"]["path"]).name
        kind = config["model"]["name"]
        print(f"{name:16} {kind:15} {config['representation']['name']:15} trained on {corpus}")
    return 0


def _add_prepare(commands: argparse._SubParsersAction) -> None:
    prepare = commands.add_parser(
        "prepare",
        help="turn score files into a tokenized corpus",
        description="Find score files (MIDI, MusicXML, ABC, Humdrum) under PATHS, tokenize them "
        "in parallel and write a corpus folder: tokens.npy, offsets.npy, splits.npy, "
        "vocab.json, manifest.json and report.json. Re-running into the same folder only "
        "parses new or changed files.",
    )
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


def run_prepare(args: argparse.Namespace) -> int:
    """Handle `cadenza prepare`."""
    from cadenza.corpus.discover import check_paths, count_scores, iter_scores
    from cadenza.corpus.prepare import prepare_corpus
    from cadenza.corpus.report import format_summary
    from cadenza.corpus.worker import PrepareSettings

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
    if args.representation == "pianoroll":  # four voices as 2-bar phrases (MuseGAN)
        from cadenza.corpus.phrases import run_prepare_pianoroll

        return run_prepare_pianoroll(args)
    from cadenza.corpus.frames import is_frame_dataset

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
    from cadenza.representations import get_representation

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
    from cadenza.corpus.frames import format_test_split, prepare_frame_dataset
    from cadenza.corpus.report import format_summary

    score_only = args.track or args.drums or args.parser != "fast" or args.chord_scope != "piece"
    representation = args.representation or "frames"
    if len(args.paths) != 1 or representation not in ("frames", "frame-notes") or score_only:
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


MAIN_MODEL = "bach-chorale"  # the built-in model the main job composes with


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
    return run_generate(
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
    handlers = {
        "prepare": run_prepare,
        "train": run_train,
        "generate": run_generate,
        "harmonize": run_harmonize,
        "demo": run_demo,
        "evaluate": run_evaluate,
        "models": run_models,
        "render": run_render,
        "serve": run_serve,
    }
    try:
        if args.command is None:
            return run_default_job(parser)
        return handlers[args.command](args)
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
