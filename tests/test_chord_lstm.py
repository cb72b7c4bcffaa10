"""The chord LSTM: shapes, finite loss per preset, carried state, and learning a pattern."""

import pytest
import torch

from cadenza.errors import CadenzaError
from cadenza.models import build_model, preset_config
from cadenza.models.chord_lstm import PRESETS
from cadenza.representations import Vocabulary


def _vocabulary(size: int) -> Vocabulary:
    return Vocabulary([f"token{i}" for i in range(size)], "chord")


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_shapes_and_finite_loss_per_preset(preset):
    model = build_model("chord-lstm", preset_config("chord-lstm", preset, _vocabulary(50)))
    tokens = torch.randint(0, 50, (3, 12))
    logits, loss, (hidden, cell) = model(tokens, torch.randint(0, 50, (3, 12)))
    assert logits.shape == (3, 12, 50)
    assert torch.isfinite(loss) and loss.item() > 0
    layers, hidden_size = PRESETS[preset]["layers"], PRESETS[preset]["hidden_size"]
    assert hidden.shape == cell.shape == (layers, 3, hidden_size)
    assert model(tokens)[1] is None


def test_tutorial_preset_matches_the_tutorial_architecture():
    config = preset_config("chord-lstm", "tutorial", _vocabulary(329))
    assert (config["layers"], config["hidden_size"], config["dense_size"]) == (3, 512, 256)
    assert config["batch_norm"] and config["dropout"] == 0.3
    model = build_model("chord-lstm", config)
    kinds = [type(layer).__name__ for layer in model.head]
    assert kinds == ["BatchNorm1d", "Dropout", "Linear", "ReLU", "BatchNorm1d", "Dropout", "Linear"]


@pytest.mark.parametrize("preset", ["default", "tutorial"])
def test_carried_state_gives_the_same_logits_as_the_whole_sequence(preset):
    torch.manual_seed(0)
    model = build_model("chord-lstm", preset_config("chord-lstm", preset, _vocabulary(30))).eval()
    tokens = torch.randint(0, 30, (1, 20))
    with torch.no_grad():
        whole, _, _ = model(tokens)
        logits, _, state = model(tokens[:, :8])
        steps = [logits]
        for position in range(8, 20):
            logits, _, state = model(tokens[:, position : position + 1], state=state)
            steps.append(logits)
    assert torch.allclose(torch.cat(steps, dim=1), whole, atol=1e-5)


def test_overfits_a_repeating_pattern_to_near_zero_loss():
    torch.manual_seed(0)
    model = build_model("chord-lstm", preset_config("chord-lstm", "tiny", _vocabulary(8)))
    pattern = torch.tensor([0, 2, 4, 5, 7, 5, 4, 2] * 8)
    inputs, targets = pattern[:-1].repeat(4, 1), pattern[1:].repeat(4, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(200):
        _, loss, _ = model(inputs, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.02


def test_bad_presets_and_configs():
    with pytest.raises(CadenzaError, match="unknown preset 'huge'"):
        preset_config("chord-lstm", "huge", _vocabulary(10))
    with pytest.raises(CadenzaError, match="unknown model 'gru'"):
        preset_config("gru", "default", _vocabulary(10))
    with pytest.raises(CadenzaError, match="dropout"):
        preset_config("chord-lstm", "default", _vocabulary(10), dropout=1.5)
