"""The step-size schedule of model families that ask for one (the transformer)."""

import json
import math

from cadenza.models import model_kind
from cadenza.training.module import step_size_factor
from cadenza.training.train import TrainConfig, train


def test_warm_up_then_half_a_cosine_to_a_tenth():
    assert step_size_factor(0, 4, 0) == 0.25 and step_size_factor(3, 4, 0) == 1.0
    assert step_size_factor(100, 4, 0) == 1.0  # no cosine: constant after the warm-up
    assert step_size_factor(4, 4, 104) == 1.0
    assert math.isclose(step_size_factor(54, 4, 104), 0.55)  # half way: 0.1 + 0.9 / 2
    assert math.isclose(step_size_factor(104, 4, 104), 0.1)
    assert math.isclose(step_size_factor(500, 4, 104), 0.1)  # past the end: the floor
    assert not model_kind("chord-lstm").training.cosine  # the LSTMs keep a constant step size
    assert model_kind("transformer").training.cosine


def test_the_cosine_length_is_fixed_when_the_run_starts(tmp_path, corpus):
    settings = dict(model="transformer", preset="tiny", window=16, batch_size=8, seed=1,
                    progress=False, accelerator="cpu", patience=50)  # fmt: skip
    run = tmp_path / "run"
    train(corpus, run, TrainConfig(max_epochs=1, **settings))
    first = json.loads((run / "train.json").read_text())["training"]["schedule_steps"]
    assert first > 0
    train(corpus, run, TrainConfig(max_epochs=2, **settings), resume=True)
    assert json.loads((run / "train.json").read_text())["training"]["schedule_steps"] == first
