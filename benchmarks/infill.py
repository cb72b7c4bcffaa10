"""Does the suffix help? The NLL of held-out middle bars given both sides against the prefix alone.

    .venv/bin/python -m benchmarks.infill [--run RUN] [--corpus CORPUS] [--bars 5-8] [--write]

For each validation piece of the run's corpus with bars to spare after `--bars`, the true
tokens of those bars are scored by the model (teacher forcing, nats per token) twice: after
the fill-in-the-middle layout that `generate --infill` uses for the run, and
after the same prefix alone as a plain continuation. The prefix's end and the suffix's start
are cut as `generate --infill` cuts them, so that everything fits the model's context.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from benchmarks.results import machine, write_section


def middle_nll(model, context: list[int], middle: list[int]) -> float:
    """Sum of -log p(middle tokens) after `context`, teacher-forced, in nats."""
    ids = torch.tensor([context + middle])
    with torch.inference_mode():
        logits, _, _ = model(ids[:, :-1])  # (1, T - 1, V)
    logprobs = torch.log_softmax(logits[0, len(context) - 1 :], -1)
    targets = torch.tensor(middle)
    return float(-logprobs[torch.arange(len(middle)), targets].sum())


def main() -> None:
    from cadenza.bundle import load_bundle
    from cadenza.generation.arrange import _bars_tokens, _fill_in_layout
    from cadenza.generation.forcing import NotesLayout
    from cadenza.music.notation import read_notation

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("build/pretrained/runs/bach-chorale"))
    parser.add_argument("--corpus", type=Path, default=Path("build/pretrained/bach-notes"))
    parser.add_argument("--bars", default="5-8")
    parser.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    args = parser.parse_args()
    first, last = (int(b) - 1 for b in args.bars.split("-"))
    bundle = load_bundle(args.run)
    representation, vocabulary = bundle.representation(), bundle.vocabulary
    manifest = json.loads((args.corpus / "manifest.json").read_text())
    sources = [Path(p["source"]) for p in manifest["pieces"] if p["split"] == "validation"]
    context = int(bundle.config["model"]["config"]["context"])
    totals = {"both": 0.0, "prefix": 0.0}
    tokens, pieces = 0, 0
    for source in sorted(sources):
        layout = NotesLayout.parse(representation.encode(read_notation(source)[0]))
        if len(layout.bars) < last + 3:
            continue
        prefix = _bars_tokens(layout, 0, first, header=True)
        middle_tokens = _bars_tokens(layout, first, last + 1)
        suffix = [*_bars_tokens(layout, last + 1, len(layout.bars)), "END"]
        both = _fill_in_layout(
            bundle, representation, prefix, suffix, len(middle_tokens), last - first + 1
        )
        opened = both.index(vocabulary.index["FIM_Prefix"]) + 1
        closed = next(
            i for i in range(opened, len(both)) if vocabulary.tokens[both[i]][:4] == "FIM_"
        )
        kept_prefix = both[opened:closed]
        middle = vocabulary.encode(middle_tokens).tolist()
        if not kept_prefix or len(both) + len(middle) > context:
            continue  # no room in the model's context for a fair comparison
        totals["both"] += middle_nll(bundle.model, both, middle)
        totals["prefix"] += middle_nll(bundle.model, kept_prefix, middle)
        tokens += len(middle)
        pieces += 1
    both, alone = totals["both"] / tokens, totals["prefix"] / tokens
    order = bundle.config["results"].get("fill_in_the_middle_order", "prefix-suffix-middle")
    command = (
        f".venv/bin/python -m benchmarks.infill --run {args.run} --corpus {args.corpus} "
        f"--bars {args.bars}"
    )
    body = f"""## Infill: the suffix helps

Command: `{command}`
Machine: {machine()}

Bars {args.bars} of {pieces} validation pieces ({tokens:,} tokens), scored by the model after
the same prefix, with and without the suffix (fill-in-the-middle layout).

| context of the middle bars | nats per token |
|---|---:|
| prefix and suffix (fill-in-the-middle, {order}) | {both:.3f} |
| prefix alone (plain continuation) | {alone:.3f} |

The suffix lowers the NLL of the middle by {alone - both:.3f} nats per token
({np.exp(alone - both):.2f}x in perplexity).
"""
    print(body)
    if args.write:
        write_section("infill", body)


if __name__ == "__main__":
    main()
