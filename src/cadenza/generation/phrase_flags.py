"""Which `cadenza generate` flags a musegan run acts on, and their defaults; the CLI
(cli/generate.py) and the web page refuse the others. Plain names: no PyTorch is loaded."""

from __future__ import annotations

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
