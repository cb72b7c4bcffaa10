"""The transformer: cached steps equal full passes, the sliding rule, learning, exact resume,
and training and composing through the command line."""

import numpy as np
import pytest
import torch

from cadenza.bundle import load_bundle
from cadenza.cli import main
from cadenza.errors import CadenzaError
from cadenza.models import build_model, preset_config
from cadenza.models.transformer import KVCache, Transformer, TransformerConfig
from cadenza.music import read_midi
from cadenza.representations import Vocabulary
from cadenza.training.train import TrainConfig, train
from tests.conftest import tiny


def _vocabulary(size: int) -> Vocabulary:
    return Vocabulary([f"token{i}" for i in range(size)], "chord")


def _model(**settings) -> Transformer:
    torch.manual_seed(0)
    values = dict(vocab_size=30, context=8, layers=2, heads=2, width=16, dropout=0.1)
    return Transformer(TransformerConfig(**{**values, **settings})).eval()


def _step_by_step(model: Transformer, tokens: torch.Tensor) -> tuple[list, list]:
    """Feed tokens one at a time with the state: each step's logits and the cache after it."""
    logits, states, state = [], [], None
    for position in range(tokens.shape[1]):
        step, _, state = model(tokens[:, position : position + 1], state=state)
        logits.append(step)
        states.append(state)
    return logits, states


@pytest.mark.parametrize("preset", ["tiny", "default"])
def test_shapes_and_finite_loss(preset):
    config = preset_config("transformer", preset, _vocabulary(50))
    model = build_model("transformer", config)
    tokens = torch.randint(0, 50, (3, 12))
    logits, loss, state = model(tokens, torch.randint(0, 50, (3, 12)))
    assert logits.shape == (3, 12, 50)
    assert torch.isfinite(loss) and 3.0 < loss.item() < 5.0  # about ln 50 = 3.9 at the start
    assert isinstance(state, KVCache) and len(state.keys) == len(state.values) == config["layers"]
    head_width = config["width"] // config["heads"]
    assert state.keys[0].shape == state.values[-1].shape == (3, config["heads"], 12, head_width)
    assert torch.equal(state.tokens, tokens)
    assert model(tokens)[1] is None


def test_presets_validate_and_large_is_gpt2_small():
    large = preset_config("transformer", "large", _vocabulary(50))
    assert (large["layers"], large["heads"], large["width"], large["context"]) == (
        12,
        12,
        768,
        1024,
    )
    with pytest.raises(CadenzaError, match="unknown preset 'huge'"):
        preset_config("transformer", "huge", _vocabulary(10))
    with pytest.raises(CadenzaError, match="dropout must be in"):
        preset_config("transformer", "tiny", _vocabulary(10), dropout=1.0)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(width=30, heads=4), "width 30 must be a multiple of heads 4"),
        (dict(context=3), "context must be at least 4, got 3"),
        (dict(layers=0), "layers must be at least 1, got 0"),
        (dict(vocab_size=0), "vocab_size must be at least 1, got 0"),
        (dict(dropout=-0.1), r"dropout must be in \[0, 1\), got -0.1"),
    ],
)
def test_config_validation_names_the_value(settings, message):
    values = dict(vocab_size=10, context=8, layers=1, heads=2, width=16, dropout=0.0)
    with pytest.raises(ValueError, match=message):
        TransformerConfig(**{**values, **settings})


def test_tied_head_and_weight_count():
    model = _model()
    # token 30x16 + position 8x16 + 2 blocks of (2 norms, qkv, projection, mlp) + final norm
    block = 2 * 32 + (16 * 48 + 48) + (16 * 16 + 16) + (16 * 64 + 64) + (64 * 16 + 16)
    assert sum(p.numel() for p in model.parameters()) == 30 * 16 + 8 * 16 + 2 * block + 32


def _seeded_model(preset: str):
    """A transformer of `preset` over 30 tokens, its weights from seed 0, in eval mode."""
    torch.manual_seed(0)
    model = build_model("transformer", preset_config("transformer", preset, _vocabulary(30)))
    return model.eval()


@pytest.mark.parametrize("preset", ["tiny", "default"])
def test_cached_steps_give_the_logits_of_one_full_pass(preset):
    model = _seeded_model(preset)
    tokens = torch.randint(0, 30, (2, 40))
    with torch.no_grad():
        whole, _, _ = model(tokens)
        steps, _ = _step_by_step(model, tokens)
        primed, _, state = model(tokens[:, :25])  # a primer, then steps, then a chunk
        after, _, state = model(tokens[:, 25:30], state=state)
        rest, _, _ = model(tokens[:, 30:], state=state)
    assert torch.allclose(torch.cat(steps, dim=1), whole, atol=1e-5)
    assert torch.allclose(torch.cat([primed, after, rest], dim=1), whole, atol=1e-5)


def test_past_the_context_the_cache_slides_to_the_window_it_claims():
    model = _model(context=8)  # slides to its latest 3/4 context: 6 tokens
    tokens = torch.randint(0, 30, (2, 30))
    with torch.no_grad():
        steps, states = _step_by_step(model, tokens)
        for position in range(30):
            # by hand: 0..7 fill the cache; token 8 finds it full and keeps 3..7 plus itself,
            # 9 and 10 are steps, 11 keeps 6..10 plus itself, and so on every 3 tokens
            start = 0 if position < 8 else 3 + 3 * ((position - 8) // 3)
            window = tokens[:, start : position + 1]
            assert torch.equal(states[position].tokens, window), position
            fresh, _, _ = model(window)  # from scratch, positions from 0
            assert torch.allclose(steps[position], fresh[:, -1:], atol=1e-5), position
        whole, _, _ = model(tokens)  # longer than the context: the same rule
    assert torch.allclose(whole, torch.cat(steps, dim=1), atol=1e-5)
    assert max(state.length for state in states) == 8


def test_overfits_a_batch():
    torch.manual_seed(0)
    model = build_model("transformer", preset_config("transformer", "tiny", _vocabulary(8)))
    pattern = torch.tensor([0, 2, 4, 5, 7, 5, 4, 2] * 8)
    inputs, targets = pattern[:-1].repeat(4, 1), pattern[1:].repeat(4, 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(100):
        _, loss, _ = model(inputs, targets)
        first = first or loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert first > 1.5 and loss.item() < 0.05


def _tiny_transformer(**overrides) -> TrainConfig:
    # dropout on, so that the resumed run must also restore the random generator
    values = dict(model="transformer", model_overrides={"dropout": 0.1}, learning_rate=3e-3)
    return tiny(**{**values, **overrides})


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path, corpus):
    train(corpus, tmp_path / "whole", _tiny_transformer(max_epochs=2))
    train(corpus, tmp_path / "split", _tiny_transformer(max_epochs=1))
    train(corpus, tmp_path / "split", _tiny_transformer(max_epochs=2), resume=True)
    whole = torch.load(tmp_path / "whole/checkpoints/last.ckpt", weights_only=True)
    split = torch.load(tmp_path / "split/checkpoints/last.ckpt", weights_only=True)
    assert whole["epoch"] == split["epoch"] == 1
    for name, tensor in whole["state_dict"].items():
        assert torch.equal(tensor, split["state_dict"][name]), name


def test_a_window_longer_than_the_context_is_refused(tmp_path, corpus):
    config = _tiny_transformer(window=20, model_overrides={"context": 16})
    with pytest.raises(CadenzaError, match="--window 20 is longer than the transformer's context"):
        train(corpus, tmp_path / "wide", config)
    assert not (tmp_path / "wide").exists()
    with pytest.raises(CadenzaError, match="--precision 8 is not one of 32-true, bf16-mixed"):
        _tiny_transformer(precision="8")


def test_train_then_generate_on_the_command_line(tmp_path, corpus, capsys):
    # a context of 16 and a 16-token primer: the 50 tokens slide the cache 12 times
    run, song = tmp_path / "run", tmp_path / "out.mid"
    code = main(["train", str(corpus), "-o", str(run), "--model", "transformer",
                 "--preset", "tiny", "--set", "context=16", "--window", "16", "--batch-size", "4",
                 "--epochs", "2", "--accelerator", "cpu", "--precision", "bf16-mixed",
                 "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "Trained 2 epochs" in capsys.readouterr().out
    config = load_bundle(run).config
    assert config["training"]["precision"] == "bf16-mixed"
    assert config["model"]["config"]["context"] == 16
    assert main(["generate", str(run), "-o", str(song), "--length", "50", "--seed", "1"]) == 0
    onsets = np.unique(read_midi(song).tracks[0].onsets)
    assert len(onsets) == 50 and np.allclose(np.diff(onsets), 0.5)


def test_two_steps_from_one_state_do_not_disturb_each_other():
    model = _model(context=16)
    tokens = torch.randint(0, 30, (1, 6))
    with torch.no_grad():
        _, _, state = model(tokens)
        first, _, after_first = model(torch.tensor([[1]]), state=state)
        second, _, after_second = model(torch.tensor([[2]]), state=state)  # writes a copy
        again, _, _ = model(torch.tensor([[3]]), state=after_first)
        fresh, _, _ = model(torch.cat([tokens, torch.tensor([[1, 3]])], dim=1))
        other, _, _ = model(torch.cat([tokens, torch.tensor([[2]])], dim=1))
    assert after_first.tokens[0, -1] == 1 and after_second.tokens[0, -1] == 2
    assert torch.allclose(again[:, -1], fresh[:, -1], atol=1e-5)
    assert torch.allclose(second[:, -1], other[:, -1], atol=1e-5)
    assert not torch.allclose(first, second)


@pytest.mark.parametrize("preset", ["tiny", "default"])
def test_a_generation_step_gives_the_logits_of_the_general_pass_bit_for_bit(preset):
    # a step without gradients takes its own shorter path (`Transformer._step`); sampled
    # tokens must not depend on which path ran, so the logits must agree exactly
    model = _seeded_model(preset)
    tokens = torch.randint(0, 30, (2, 20))
    with torch.inference_mode():
        _, _, state = model(tokens[:, :12])
        for position in range(12, 20):
            token = tokens[:, position : position + 1]
            general, after_general = model._extend(token, state)
            step, _, state = model(token, state=state)  # a second step from it: copies first
            assert torch.equal(step, general), position
            assert torch.equal(state.tokens, after_general.tokens)
            for ours, theirs in zip(state.memory, after_general.memory, strict=True):
                assert torch.equal(ours[:, :, :, : position + 1], theirs[:, :, :, : position + 1])


def test_cached_generation_picks_the_tokens_of_full_recomputation():
    # a context of 8 and 40 tokens: the cache slides 12 times; the reference reads the
    # whole window the sliding rule keeps, from nothing, before every token
    from cadenza.bundle import Bundle
    from cadenza.generation.generate import generate_ids
    from cadenza.generation.sampling import SamplingConfig, sample_next

    model, vocabulary = _model(context=8, vocab_size=12), _vocabulary(12)
    config = {"model": {"name": "transformer", "config": model.config.to_dict()},
              "representation": {"name": "chord", "settings": {}},
              "train_token_counts": [1] * 12}  # fmt: skip
    primer = [3, 1, 4, 1, 5]
    bundle = Bundle(model, vocabulary, config, torch.tensor([primer]))
    sampling = SamplingConfig(temperature=1.5, top_k=9, top_p=0.95)
    cached = generate_ids(bundle, primer, 40, sampling, torch.Generator().manual_seed(7))
    generator, window, expected = torch.Generator().manual_seed(7), list(primer), []
    with torch.inference_mode():
        for _ in range(40):
            logits = model(torch.tensor([window]))[0][0, -1]
            expected.append(sample_next(logits, sampling, generator))
            if len(window) == model.config.context:  # full: keep the latest 3/4 context - 1
                window = window[-(model.config.kept_after_slide - 1) :]
            window.append(expected[-1])
    assert cached == expected
    assert len(set(cached)) > 3  # sampled, not stuck on one token
