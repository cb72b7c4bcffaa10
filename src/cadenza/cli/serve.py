"""`cadenza serve`: the web page, with the built-in models and any run folders given."""

from __future__ import annotations

import argparse
from pathlib import Path

from cadenza.cli.flags import add_threads_flag
from cadenza.errors import CadenzaError
from cadenza.threads import use_threads

HELP = "a web page to compose, listen, see the score and download (Gradio)"
DESCRIPTION = (
    "Serve a page where people choose a model (the built-in ones and the RUN "
    "folders given), upload a primer, set length, temperatures and seed, compose, listen, "
    "see the piano roll and the score, and download MIDI, WAV and MusicXML."
)


def add_flags(serve: argparse.ArgumentParser) -> None:
    """The flags of `cadenza serve`."""
    serve.add_argument("runs", nargs="*", type=Path, metavar="RUN", help="run folders to offer")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=7860, help="port (7860)")
    serve.add_argument("--open", action="store_true", help="open the page in a browser")
    add_threads_flag(serve, "1: each request composes one piece")


def run(args: argparse.Namespace) -> int:
    """Handle `cadenza serve`."""
    if not 1 <= args.port <= 65535:
        raise CadenzaError(f"--port must be 1..65535, got {args.port}")
    use_threads("compose", args.threads)  # each request composes one piece
    try:
        import gradio  # noqa: F401  (only to say clearly when it is missing)
    except ImportError:
        raise CadenzaError(
            "the web page needs Gradio, which is not installed (pip install 'cadenza[web]')"
        ) from None
    from cadenza.web.app import launch
    from cadenza.web.service import Composer, built_in_names, served_models

    models = served_models(args.runs)
    print(f"Loading {len(models)} model{'s' if len(models) != 1 else ''}: {', '.join(models)}")
    composer = Composer(models, optional=built_in_names(args.runs))
    for name, reason in composer.failed.items():
        print(f"  without {name}, which did not load: {reason}")
    composer.warm_up()
    for name, reason in composer.missing.items():
        print(f"  without {name}: {reason}")
    print(f"Serving on http://{args.host}:{args.port} (Ctrl-C stops)", flush=True)
    try:
        launch(composer, args.host, args.port, inbrowser=args.open)
    finally:
        composer.close()
    return 0
