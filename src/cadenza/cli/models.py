"""`cadenza models`: the trained models that ship inside the package (pretrained/)."""

from __future__ import annotations

import argparse

HELP = "list the models that ship with Cadenza"
DESCRIPTION = "List the trained models inside the package, for `generate --model NAME`."


def add_flags(_parser: argparse.ArgumentParser) -> None:
    """`cadenza models` has no flags of its own."""


def run(args: argparse.Namespace) -> int:
    """Handle `cadenza models`."""
    from cadenza.pretrained import available, describe

    models = available()
    if not models:
        print("No built-in models are installed (make them with scripts/pretrained.sh).")
    for name, folder in models.items():
        about = describe(folder)
        print(f"{name:16} {about['model']:15} {about['representation']:15} "
              f"trained on {about['corpus']}")  # fmt: skip
    return 0
