"""Transformer speed against Hugging Face's GPT-2 of the same size and weights, one thread.

    .venv/bin/pip install -e ".[bench]"     # transformers, for this benchmark only
    .venv/bin/python -m benchmarks.transformer_speed [--preset default] [--repeats 5]
    .venv/bin/python -m benchmarks.transformer_speed --sweep   # our model at several sizes
    .venv/bin/python -m benchmarks.transformer_speed --sweep --corpus CORPUS --budget 80

Both models get the same weights (ours copied into a GPT2LMHeadModel; the logits are checked
to agree) and run side by side in one process, alternately, with one thread; each figure is
the median of `--repeats` measurements of CPU time (`time.process_time`: with one thread, the
wall time of a quiet core; the project's 2 cores are shared by other work). Training is
tokens per second of forward, backward and an AdamW step on the same batch of windows,
dropout on. Generation is 1,000 tokens after a 32-token primer, sampled from the whole
softmax with the key/value cache: ours through Cadenza's own generation loop (one step per
token, oneDNN off as `cadenza generate` has it), Hugging Face's through
`generate(do_sample=True, use_cache=True)`, with oneDNN on and off and the faster kept. A
GPT-2 cannot pass its position table, so its copy gets a table of 1,032 positions and its
cache grows to 1,032 tokens, where ours slides and stays within its context; a second
figure therefore generates within the context, where both caches are alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch.nn import functional as F

from benchmarks.results import machine, write_section
from cadenza.bundle import Bundle
from cadenza.generation.generate import generate_ids
from cadenza.generation.sampling import SamplingConfig
from cadenza.models.transformer import PRESETS, Transformer, TransformerConfig
from cadenza.representations.vocab import Vocabulary

PRIMER = 32
INSTALL = (
    'this benchmark needs Hugging Face transformers: .venv/bin/pip install -e ".[bench]" '
    "(or .venv/bin/pip install transformers)"
)


def gpt2_state_dict(model: Transformer) -> dict[str, torch.Tensor]:
    """Our weights under GPT2Model's names; its Conv1D layers keep (in, out) matrices."""
    ours = model.state_dict()
    mapped = {
        "wte.weight": ours["token_embedding.weight"],
        "wpe.weight": ours["position_embedding.weight"],
        "ln_f.weight": ours["final_norm.weight"],
        "ln_f.bias": ours["final_norm.bias"],
    }
    names = {"attention_norm": "ln_1", "attention.qkv": "attn.c_attn",
             "attention.projection": "attn.c_proj", "mlp_norm": "ln_2", "expand": "mlp.c_fc",
             "contract": "mlp.c_proj"}  # fmt: skip
    for index in range(model.config.layers):
        for our_name, their_name in names.items():
            weight = ours[f"blocks.{index}.{our_name}.weight"]
            linear = weight.dim() == 2
            mapped[f"h.{index}.{their_name}.weight"] = weight.t().contiguous() if linear else weight
            mapped[f"h.{index}.{their_name}.bias"] = ours[f"blocks.{index}.{our_name}.bias"]
    return mapped


def hugging_face_copy(model: Transformer, positions: int | None = None):
    """A GPT2LMHeadModel with our model's shape and weights (and a longer position table if
    asked: the rows past our context repeat its last row)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = model.config
    positions = positions or config.context
    hf_config = GPT2Config(
        vocab_size=config.vocab_size, n_positions=positions, n_embd=config.width,
        n_layer=config.layers, n_head=config.heads, activation_function="gelu_new",
        resid_pdrop=config.dropout, embd_pdrop=config.dropout, attn_pdrop=config.dropout,
        layer_norm_epsilon=1e-5, bos_token_id=0, eos_token_id=0, pad_token_id=0,
        tie_word_embeddings=True, attn_implementation="sdpa",
    )  # fmt: skip
    hf = GPT2LMHeadModel(hf_config)
    assert hf.config._attn_implementation == "sdpa", hf.config._attn_implementation
    weights = gpt2_state_dict(model)
    table = weights["wpe.weight"]
    extra = table[-1:].expand(positions - config.context, -1)
    weights["wpe.weight"] = torch.cat([table, extra]) if positions > config.context else table
    hf.transformer.load_state_dict(weights, strict=True)
    hf.tie_weights()
    assert hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()
    return hf


def cpu_seconds(run: Callable[[], object], repeats: int) -> list[float]:
    """Seconds of this process's CPU time per run: with one thread, the wall time a quiet
    core would take, and much less disturbed than wall time when other work shares it."""
    times = []
    for _ in range(repeats):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return times


def training_step(model, forward: Callable, batch: tuple[torch.Tensor, torch.Tensor]):
    """A function doing one forward, backward and AdamW step on `batch`."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    inputs, targets = batch

    def step() -> None:
        loss = forward(inputs, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def our_generation(model: Transformer, primer: list[int], length: int) -> Callable:
    vocabulary = Vocabulary([f"t{i}" for i in range(model.config.vocab_size)], "chord")
    config = {
        "model": {"name": "transformer", "config": model.config.to_dict()},
        "representation": {"name": "chord", "settings": {}},
        "train_token_counts": [1] * len(vocabulary),
    }
    bundle = Bundle(model, vocabulary, config, torch.tensor([primer]))
    generator = torch.Generator().manual_seed(0)
    return lambda: generate_ids(bundle, primer, length, SamplingConfig(), generator)


def their_generation(hf, primer: list[int], length: int, onednn: bool) -> Callable:
    inputs = torch.tensor([primer])

    def run():
        enabled = torch.backends.mkldnn.enabled
        torch.backends.mkldnn.enabled = onednn
        try:
            with torch.inference_mode():
                produced = hf.generate(
                    inputs, attention_mask=torch.ones_like(inputs), max_new_tokens=length,
                    min_new_tokens=length, do_sample=True, top_k=0, top_p=1.0, use_cache=True,
                )  # fmt: skip
        finally:
            torch.backends.mkldnn.enabled = enabled
        assert produced.shape[1] == len(primer) + length
        return produced

    return run


def compare(preset: str, vocab_size: int, batch_size: int, window: int, repeats: int) -> str:
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(vocab_size=vocab_size, **PRESETS[preset]))
    window = min(window, model.config.context)
    hf = hugging_face_copy(model)
    tokens = torch.randint(0, vocab_size, (batch_size, window + 1))
    model.eval(), hf.eval()
    with torch.no_grad():
        difference = (model(tokens[:, :-1])[0] - hf(tokens[:, :-1]).logits).abs().max().item()
    assert difference < 1e-4, f"the logits differ by {difference}"
    print(f"logits agree: largest difference {difference:.1e}", flush=True)

    batch = (tokens[:, :-1], tokens[:, 1:])
    model.train(), hf.train()
    ours = training_step(model, lambda x, y: model(x, y)[1], batch)
    theirs = training_step(
        hf,
        lambda x, y: F.cross_entropy(hf(x).logits.reshape(-1, vocab_size), y.reshape(-1)),
        batch,
    )
    ours(), theirs()  # warm-up
    train_times = {"ours": [], "theirs": []}
    for _ in range(repeats):  # alternately, so that a busy moment hits both
        train_times["ours"] += cpu_seconds(ours, 1)
        train_times["theirs"] += cpu_seconds(theirs, 1)
    per_second = {k: batch_size * window / statistics.median(v) for k, v in train_times.items()}
    print(f"training tokens/s: {per_second}", flush=True)

    model.eval()
    primer = tokens[0, :PRIMER].tolist()
    long_hf = hugging_face_copy(model, PRIMER + 1000).eval()
    within = model.config.context - PRIMER
    runs = {
        ("ours", 1000): our_generation(model, primer, 1000),
        ("ours", within): our_generation(model, primer, within),
    }
    for onednn in (True, False):
        runs[("theirs", 1000, onednn)] = their_generation(long_hf, primer, 1000, onednn)
        runs[("theirs", within, onednn)] = their_generation(hf.eval(), primer, within, onednn)
    for run in runs.values():
        run()  # warm-up
    times = {key: [] for key in runs}
    for _ in range(repeats):
        for key, run in runs.items():
            times[key] += cpu_seconds(run, 1)
    seconds = {key: statistics.median(value) for key, value in times.items()}
    print(f"generation seconds: {seconds}", flush=True)
    return _table(preset, model, batch_size, window, per_second, seconds, within, repeats)


def _table(preset, model, batch_size, window, per_second, seconds, within, repeats) -> str:
    config = model.config
    size = sum(p.numel() for p in model.parameters())
    lines = [
        f"## transformer against Hugging Face GPT-2: `{preset}` preset, one thread",
        "",
        "Command: `.venv/bin/python -m benchmarks.transformer_speed`",
        f"Machine: {machine()}; torch {torch.__version__}, transformers "
        f"{__import__('transformers').__version__}",
        "",
        f"Model: {config.layers} layers, width {config.width}, {config.heads} heads, context "
        f"{config.context}, vocabulary {config.vocab_size}: {size / 1e6:.2f}M weights, copied "
        f"into a GPT2LMHeadModel (logits agree). Medians of {repeats}, measured alternately.",
        "",
        "| measurement | cadenza | Hugging Face | cadenza's speed-up |",
        "|---|---:|---:|---:|",
        f"| training, batch {batch_size} x {window} tokens, AdamW (tokens/s) | "
        f"{per_second['ours']:,.0f} | {per_second['theirs']:,.0f} | "
        f"{per_second['ours'] / per_second['theirs']:.2f}x |",
    ]
    for length, note in ((1000, "HF's cache grows to 1,032"), (within, "within the context")):
        theirs = min(seconds[("theirs", length, True)], seconds[("theirs", length, False)])
        onednn = "on" if seconds[("theirs", length, True)] <= theirs else "off"
        ours = seconds[("ours", length)]
        lines.append(
            f"| {length:,} tokens after {PRIMER}, sampled ({note}; HF oneDNN {onednn}) (s) | "
            f"{ours:.3f} | {theirs:.3f} | {theirs / ours:.1f}x |"
        )
    return "\n".join(lines)


SHAPES = [
    (2, 64, 2),
    (3, 96, 4),
    (4, 128, 4),
    (3, 192, 4),
    (4, 160, 4),
    (4, 192, 4),
    (6, 192, 6),
    (6, 256, 8),
]  # fmt: skip  (layers, width, heads)


def losses_in_budget(corpus_folder: str, budget: float, batch_size: int, window: int) -> str:
    """Validation loss of each shape after `budget` CPU seconds of training on a corpus (one
    thread; AdamW 1e-3, clip 1, dropout 0.1; 48 validation windows)."""
    from cadenza.corpus.store import Corpus
    from cadenza.training.data import SplitStream, WindowSampler

    corpus = Corpus(corpus_folder)
    train, validation = (
        SplitStream(corpus, "train", window),
        SplitStream(corpus, "validation", window),
    )
    pairs = [validation[start] for start in list(WindowSampler(validation, 0, False))[:48]]
    held_out = torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])
    marks = [budget * k / 4 for k in (1, 2, 3, 4)]
    lines = ["| layers | width | " + " | ".join(f"loss after {m:.0f} s" for m in marks)
             + " | steps |", "|---:|---:|" + "---:|" * (len(marks) + 1)]  # fmt: skip
    for layers, width, heads in SHAPES:
        torch.manual_seed(0)
        config = TransformerConfig(len(corpus.vocabulary), context=window, layers=layers,
                                   heads=heads, width=width, dropout=0.1)  # fmt: skip
        model = Transformer(config)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        used, steps, epoch, found = 0.0, 0, 0, []
        while len(found) < len(marks):
            sampler = WindowSampler(train, 0, True)
            sampler.set_epoch(epoch)
            starts, epoch = list(sampler), epoch + 1
            for first in range(0, len(starts) - batch_size + 1, batch_size):
                if len(found) == len(marks):
                    break
                pairs = [train[start] for start in starts[first : first + batch_size]]
                inputs, targets = (
                    torch.stack([p[0] for p in pairs]),
                    torch.stack([p[1] for p in pairs]),
                )
                started = time.process_time()
                loss = model(inputs, targets)[1]
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                used, steps = used + time.process_time() - started, steps + 1
                if used >= marks[len(found)]:
                    with torch.no_grad():
                        found.append(float(model.eval()(*held_out)[1]))
                    model.train()
        shown = " | ".join(f"{loss:.3f}" for loss in found)
        lines.append(f"| {layers} | {width} | {shown} | {steps} |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def sweep(vocab_size: int, batch_size: int, window: int, repeats: int) -> str:
    """Our model alone at several sizes: training tokens/s and 1,000 generated tokens."""
    lines = ["| layers | width | heads | weights | training tokens/s | 1,000 tokens (s) |",
             "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for layers, width, heads in SHAPES:
        torch.manual_seed(0)
        config = TransformerConfig(vocab_size, context=window, layers=layers, heads=heads,
                                   width=width, dropout=0.1)  # fmt: skip
        model = Transformer(config)
        tokens = torch.randint(0, vocab_size, (batch_size, window + 1))
        step = training_step(model.train(), lambda x, y, m=model: m(x, y)[1],
                             (tokens[:, :-1], tokens[:, 1:]))  # fmt: skip
        step()
        train = statistics.median(cpu_seconds(step, repeats))
        generate = our_generation(model.eval(), tokens[0, :PRIMER].tolist(), 1000)
        generate()
        seconds = statistics.median(cpu_seconds(generate, repeats))
        size = sum(p.numel() for p in model.parameters()) / 1e6
        lines.append(f"| {layers} | {width} | {heads} | {size:.2f}M | "
                     f"{batch_size * window / train:,.0f} | {seconds:.3f} |")  # fmt: skip
        print(lines[-1], flush=True)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS))
    parser.add_argument("--vocab-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--window", type=int, default=256, help="at most the context")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sweep", action="store_true", help="our model at several sizes")
    parser.add_argument("--corpus", help="with --sweep: also train each size on this corpus")
    parser.add_argument("--budget", type=float, default=80.0, help="CPU seconds per size")
    parser.add_argument("--write", action="store_true", help="into benchmarks/RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.sweep:
        body = sweep(args.vocab_size, args.batch_size, args.window, args.repeats)
        if args.corpus:
            losses = losses_in_budget(args.corpus, args.budget, args.batch_size, args.window)
            body = f"{body}\n\n{losses}"
        name = "transformer-sizes"
    else:
        try:
            import transformers  # noqa: F401  (only to say how to install it)
        except ImportError:
            sys.exit(INSTALL)
        body = compare(args.preset, args.vocab_size, args.batch_size, args.window, args.repeats)
        name = "transformer-speed"
    print(body)
    if args.write:
        write_section(name, body)


if __name__ == "__main__":
    main()
