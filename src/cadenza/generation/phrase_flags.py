"""The flags only musegan runs read, for `cadenza generate` and `cadenza evaluate`.

Apart from phrase_commands.py, which needs PyTorch: building the parser (`cadenza --help`,
`prepare`, `render`) must not load it.
"""

from __future__ import annotations

import argparse

# The `generate` flags (argparse names) a musegan run acts on, besides the output, rendering
# and threads that `generate` handles for every run: the others are refused before any work.
# The scale and the range are honoured by masking the generator's pitch outputs.
GENERATE_FLAGS = frozenset(
    {"seed", "tempo", "instrument", "key", "scale", "pitch_range", "plots", "bars", "change"}
)
NOT_TOKENS = (
    "musegan writes each voice's likeliest pitch of phrases drawn from noise: it has no "
    "primer, length, sampling or token rules"
)
DEFAULT_BARS = 2


def add_generate_flags(generate: argparse.ArgumentParser) -> None:
    """`--bars` and `--change` (musegan runs)."""
    group = generate.add_argument_group("musegan", "four-voice phrases from noise")
    group.add_argument(
        "--bars", type=int, help=f"bars to write, 2 per phrase ({DEFAULT_BARS})"
    )  # None when not given: other models refuse it
    group.add_argument(
        "--change",
        metavar="NOISE",
        help="write the piece, then the same with one noise drawn anew: chords, style, "
        "melody:VOICE or groove:VOICE (VOICE: soprano, alto, tenor, bass or 1..4)",
    )


def add_evaluate_flags(evaluate: argparse.ArgumentParser) -> None:
    """`--phrases` (musegan runs)."""
    evaluate.add_argument(
        "--phrases", type=int, default=1000, help="musegan: phrases to generate and measure (1000)"
    )
