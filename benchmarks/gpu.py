"""The transformer's `large` preset on a GPU: bf16 training throughput and generation latency.

    .venv/bin/python -m benchmarks.gpu [--steps 20] [--batch 16] [--tokens 1000] [--write]

Needs a CUDA device (it says so and stops otherwise). Training: forward, backward and an
AdamW step under `torch.autocast(dtype=torch.bfloat16)` on random token windows of the full
context (1,024), timed after warm-up steps with the device synchronized. Generation: `--tokens`
tokens, one step each with the key/value cache, batch 1, through Cadenza's own loop.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from benchmarks.results import machine, write_section


def main() -> None:
    from cadenza.generation.sampling import SamplingConfig, sample_next
    from cadenza.models.transformer import PRESETS, Transformer, TransformerConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--vocab", type=int, default=521, help="the notes vocabulary's size")
    parser.add_argument("--preset", default="large", help="large; tiny checks the script")
    parser.add_argument("--device", default="cuda", help="cuda; cpu checks the script")
    parser.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("benchmarks.gpu: no CUDA device here; run it on a machine with a GPU")
    device = torch.device(args.device)
    kind = device.type
    config = TransformerConfig(vocab_size=args.vocab, **PRESETS[args.preset])
    model = Transformer(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
    window = config.context
    tokens = torch.randint(args.vocab, (args.batch, window + 1), device=device)

    def step() -> None:
        with torch.autocast(kind, dtype=torch.bfloat16):
            _, loss, _ = model(tokens[:, :-1], tokens[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def synchronize() -> None:
        if kind == "cuda":
            torch.cuda.synchronize()

    for _ in range(3):
        step()
    synchronize()
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    synchronize()
    per_second = args.steps * args.batch * window / (time.perf_counter() - started)

    model.eval()
    sampling, generator = SamplingConfig(1.0, 0, 1.0), torch.Generator(device="cpu")
    with torch.inference_mode(), torch.autocast(kind, dtype=torch.bfloat16):
        synchronize()
        started = time.perf_counter()
        logits, _, state = model(torch.zeros((1, 1), dtype=torch.long, device=device))
        for _ in range(args.tokens):
            token = sample_next(logits[0, -1].float().cpu(), sampling, generator)
            next_input = torch.tensor([[token]], device=device)
            logits, _, state = model(next_input, state=state)
        synchronize()
        latency = (time.perf_counter() - started) / args.tokens
    name = torch.cuda.get_device_name(0) if kind == "cuda" else "cpu"
    command = (
        f".venv/bin/python -m benchmarks.gpu --steps {args.steps} --batch {args.batch} "
        f"--tokens {args.tokens} --preset {args.preset} --device {args.device}"
    )
    body = f"""## transformer `{args.preset}` on a GPU (bf16)

Command: `{command}`
Machine: {machine()}; device {name}

| measurement | value |
|---|---:|
| training tokens/s (bf16 autocast, batch {args.batch} x {window}) | {per_second:,.0f} |
| generation, ms per token (batch 1, cache, {args.tokens} tokens) | {latency * 1000:.2f} |
"""
    print(body)
    if args.write:
        write_section("gpu", body)


if __name__ == "__main__":
    main()
