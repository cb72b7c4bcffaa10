"""Does a notes model keep to the key `--key` asks for? Pieces from nothing in 10 keys.

    .venv/bin/python -m benchmarks.key_following [--model bach-chorale] [--length 600]

For each of 10 keys (seed 0..9 in turn) a piece of up to `--length` tokens is composed with
`--key` and `--primer none`, and the key heard in its notes (`estimate_key`, Krumhansl-
Schmuckler) is compared with the one asked: the same signature and mode, or the same
signature only. Prints the table; writes nothing.
"""

from __future__ import annotations

import argparse

import torch

KEYS = ("C", "G", "D", "A minor", "F", "Bb", "E minor", "Eb", "D minor", "A")


def main() -> None:
    from cadenza.bundle import load_bundle
    from cadenza.generation.compose import ComposeSettings, compose
    from cadenza.generation.constraints import Constraints
    from cadenza.music.keys import estimate_key, parse_key
    from cadenza.pretrained import resolve_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="bach-chorale", help="built-in name or run folder")
    parser.add_argument("--length", type=int, default=600)
    args = parser.parse_args()
    torch.set_num_threads(1)
    bundle = load_bundle(resolve_model(args.model))
    same, signature = 0, 0
    print("| asked | tokens | heard | same key | same signature |\n|---|---:|---|---|---|")
    for seed, name in enumerate(KEYS):
        asked = parse_key(name)
        settings = ComposeSettings(length=args.length, primer="none", seed=seed, key=name)
        piece = compose(bundle, settings, Constraints(key=asked, key_name=name))
        heard = estimate_key(piece.score)
        both = (heard.sharps, heard.minor) == (asked.sharps, asked.minor)
        same += both
        signature += heard.sharps == asked.sharps
        mode = "minor" if heard.minor else "major"
        print(f"| {name} | {len(piece.tokens)} | {heard.sharps:+d} sharps, {mode} | {both} | "
              f"{heard.sharps == asked.sharps} |")  # fmt: skip
    print(f"\nsame key: {same} of {len(KEYS)}; same signature: {signature} of {len(KEYS)}")


if __name__ == "__main__":
    main()
