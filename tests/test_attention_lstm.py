"""The attention LSTM: shapes, causal attention, carried state, training, generation, pictures."""

import numpy as np
import pytest
import torch

from cadenza.bundle import load_bundle
from cadenza.cli import main
from cadenza.errors import CadenzaError
from cadenza.generation.events import generate_events
from cadenza.generation.plots import attention_matrix
from cadenza.generation.sampling import SamplingConfig
from cadenza.models import build_model, preset_config
from cadenza.models.attention_lstm import CARRY_REACH
from cadenza.music import read_midi
from cadenza.music.keys import parse_key
from cadenza.representations import Vocabulary
from cadenza.representations.pitch_duration import event_pitches, pair_lookup, pair_vocabularies
from tests.conftest import PAIR_TRAINING

PAIR_TOKENS = sorted(["START", "END", "rest", "C4", "D4", "E4", "C4.E4", "0", "0.5", "1.0", "1/3"])


def _model(**overrides):
    vocabulary = Vocabulary(PAIR_TOKENS, "pitch-duration")
    config = preset_config("attention-lstm", "tiny", vocabulary, **overrides)
    return build_model("attention-lstm", config)


def test_pair_vocabularies_and_lookup():
    pitches, durations = pair_vocabularies(PAIR_TOKENS)
    assert durations == ["0", "0.5", "1.0", "1/3"]
    assert pitches == ["C4", "C4.E4", "D4", "E4", "END", "START", "rest"]
    lookup = pair_lookup(PAIR_TOKENS)
    assert [lookup[PAIR_TOKENS.index(t)] for t in ("C4", "rest", "1.0")] == [0, 6, 2]


def test_shapes_loss_and_causal_attention():
    torch.manual_seed(0)
    model = _model()
    tokens = torch.stack([torch.randint(0, 7, (2, 10)), torch.randint(0, 4, (2, 10))], -1)
    (pitch, duration), loss, _ = model(tokens, tokens)
    assert pitch.shape == (2, 10, 7) and duration.shape == (2, 10, 4)
    assert torch.isfinite(loss)
    weights = model.last_attention  # (B, T, T)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 10))
    assert torch.all(weights.triu(diagonal=1) == 0)  # no step looks ahead


def _composed_model():
    model = _model()
    # pitch ids: C4 C4.E4 D4 E4 END START rest
    model.set_pitch_sets([[60], [60, 64], [62], [64], [], [], []])
    return model


def test_composed_pitch_logits_carry_sounding_pitches_by_interval():
    model = _composed_model().eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        model.carry_head.bias[CARRY_REACH + 4] = 5.0  # a major third up from each sounding pitch
        (pitch, _), _, _ = model(torch.tensor([[[0, 0]]]))  # now: C4
    assert pitch[0, 0].tolist() == [0.0, 5.0, 0.0, 5.0, 0.0, 0.0, 0.0]  # C4.E4 and E4 gain
    with torch.no_grad():
        model.repeat_head.bias.fill_(-2.0)  # repeating the sounding token exactly is rarer
        (pitch, _), _, _ = model(torch.tensor([[[0, 0], [1, 0]]]))  # C4, then C4.E4
    assert pitch[0, 1].tolist() == [0.0, 3.0, 0.0, 5.0, 0.0, 0.0, 0.0]


def test_pitch_sets_are_checked_and_saved_with_the_weights(pair_run):
    with pytest.raises(ValueError, match="3 pitch sets for 7 pitch tokens"):
        _model().set_pitch_sets([[60], [62], [64]])
    bundle = load_bundle(pair_run)
    pitches, _ = pair_vocabularies(bundle.vocabulary.tokens)
    sets = bundle.model.pitch_sets
    assert [sets[i].nonzero().flatten().tolist() for i in range(len(pitches))] == [
        event_pitches(token) for token in pitches
    ]


def test_attention_span_limits_how_far_back():
    model = _model(attention_span=3)
    tokens = torch.zeros(1, 8, 2, dtype=torch.long)
    model(tokens)
    weights = model.last_attention[0]
    assert torch.all(weights[7, :5] == 0) and torch.all(weights[7, 5:] > 0)


def test_carried_state_matches_the_whole_window():
    torch.manual_seed(1)
    model = _model(attention_span=16).eval()
    tokens = torch.stack([torch.randint(0, 7, (1, 12)), torch.randint(0, 4, (1, 12))], -1)
    with torch.no_grad():
        (whole, _), _, _ = model(tokens)
        (first, _), _, state = model(tokens[:, :5])
        steps = [first]
        for position in range(5, 12):
            (logits, _), _, state = model(tokens[:, position : position + 1], state=state)
            steps.append(logits)
    assert torch.allclose(torch.cat(steps, 1), whole, atol=1e-5)


def test_attention_lstm_needs_a_pitch_duration_corpus():
    with pytest.raises(CadenzaError, match="needs a pitch-duration corpus"):
        preset_config("attention-lstm", "tiny", Vocabulary(["C4", "D4"], "chord"))


def test_attention_matrix_places_each_row_at_its_step():
    from cadenza.generation.events import EventTrace

    trace = EventTrace(["C4"], attention=[np.array([0.5, 0.5]), np.array([0.2, 0.3, 0.5])])
    trace.primer_steps = 2
    assert attention_matrix(trace).tolist() == [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]]


@pytest.mark.parametrize(
    ("text", "sharps", "minor"),
    [("C", 0, False), ("A minor", 0, True), ("Bb", -2, False), ("F#m", 3, True), ("e-", -3, False)],
)
def test_key_names(text, sharps, minor):
    key = parse_key(text)
    assert (key.sharps, key.minor) == (sharps, minor)


def test_bad_key_name():
    with pytest.raises(CadenzaError, match="not a key"):
        parse_key("H major")


def test_event_generation_is_seeded_and_stops_at_length(pair_run):
    bundle = load_bundle(pair_run)

    def events(seed):
        generator = torch.Generator().manual_seed(seed)
        tokens, trace = generate_events(bundle, [], 20, SamplingConfig(), SamplingConfig(0.5),
                                        generator)  # fmt: skip
        return tokens, trace

    first, trace = events(3)
    assert first == events(3)[0] and first != events(4)[0]
    assert len(first) <= 40 and len(first) % 2 == 0
    assert len(trace.probabilities) == len(trace.attention) >= len(first) // 2
    assert all(abs(p.sum() - 1) < 1e-4 for p in trace.probabilities)


def test_cli_generate_with_pictures_key_and_instrument(pair_run, tmp_path):
    song = tmp_path / "tune.mid"
    assert main(["generate", str(pair_run), "-o", str(song), "--length", "30", "--plots",
                 "--key", "A minor", "--instrument", "73", "--tempo", "80",
                 "--pitch-temperature", "0.7", "--duration-temperature", "0"]) == 0  # fmt: skip
    score = read_midi(song)
    assert score.tracks[0].program == 73
    assert (score.key_signatures[0].sharps, score.key_signatures[0].minor) == (0, True)
    assert score.tempos[0].bpm == pytest.approx(80, rel=1e-3)
    for picture in ("tune-pitch-probabilities.png", "tune-attention.png"):
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["generate", str(pair_run), "-o", str(tmp_path / "none.mid"), "--length", "0"]) == 2
    assert not (tmp_path / "none.mid").exists()


def test_evaluate_reports_forced_and_free_running_accuracy(pair_run, capsys):
    import json

    assert main(["evaluate", str(pair_run), "--primer", "4", "--horizon", "8"]) == 0
    printed = capsys.readouterr().out
    assert "teacher-forced: loss" in printed and "pitch free" in printed
    result = json.loads((pair_run / "evaluation.json").read_text())
    assert result["horizon"] == 8 and len(result["accuracy"]) == 2
    first = result["per_step"]["1"]
    # the first free-running step is predicted from the true primer: the same as forced
    assert first["free_running"] == pytest.approx(first["teacher_forced"])
    assert set(result["per_step"]) == {"1", "2", "4", "8"}
    assert main(["evaluate", str(pair_run), "--horizon", "0"]) == 2


def test_resume_is_exact_for_the_attention_model_too(pair_run, tmp_path):
    corpus = pair_run.parent / "corpus"
    common = ["--quiet", *PAIR_TRAINING]  # as the session's pair_run, trained for 3 epochs
    assert main(["train", str(corpus), "-o", str(tmp_path / "r"), "--epochs", "2", *common]) == 0
    assert main(["train", str(corpus), "-o", str(tmp_path / "r"), "--epochs", "3", "--resume",
                 *common]) == 0  # fmt: skip
    whole = torch.load(pair_run / "checkpoints/last.ckpt", weights_only=True)["state_dict"]
    split = torch.load(tmp_path / "r/checkpoints/last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(whole[name], split[name]) for name in whole)


def test_generation_rebuilds_the_state_within_the_training_window(pair_run):
    bundle = load_bundle(pair_run)
    memory = bundle.config["training"]["window"]  # 12 events
    greedy = SamplingConfig(0.0)
    tokens, _ = generate_events(bundle, [], 40, greedy, greedy, torch.Generator(),
                                stop_at_end=False)  # fmt: skip
    # The same choices, each made from scratch over the steps the state should hold: the
    # primer, then one more per event up to a window, then back to three quarters of one.
    lookup = pair_lookup(bundle.vocabulary.tokens)
    start = bundle.vocabulary.encode(["START", "0"]).tolist()
    history = [tuple(lookup[start])]
    pitches, durations = pair_vocabularies(bundle.vocabulary.tokens)
    age, expected = 1, []
    with torch.no_grad():
        for _ in range(40):
            (pitch, duration), _, _ = bundle.model(torch.tensor([history[-age:]]))
            chosen = (int(pitch[0, -1].argmax()), int(duration[0, -1].argmax()))
            expected += [pitches[chosen[0]], durations[chosen[1]]]
            history.append(chosen)
            age = age + 1 if age < memory else memory - memory // 4
    assert tokens == expected
