"""MuseGAN: the networks, WGAN-GP training and resume, generation, and the MuseGAN metrics."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch.nn import functional as F

from cadenza.bundle import load_bundle
from cadenza.cli import main
from cadenza.errors import CadenzaError
from cadenza.metrics.musegan import musegan_metrics, tonal_matrix
from cadenza.models import build_model
from cadenza.models.musegan import (
    PRESETS,
    BlockConv3d,
    BlockConvTranspose2d,
    MuseGANConfig,
    MuseGANCritic,
    MuseGANGenerator,
    sample_noise,
)
from cadenza.music import Note, Score, TimeSignature, Track, read_midi, write_midi
from cadenza.training.gan import gradient_penalty, phrases_to_tanh
from cadenza.training.train import TrainConfig, train

TINY = MuseGANConfig(**PRESETS["tiny"])


def test_generator_and_critic_shapes_and_ranges():
    generator, critic = MuseGANGenerator(TINY), MuseGANCritic(TINY)
    phrases = generator(sample_noise(TINY, 3, torch.Generator().manual_seed(0)))
    assert phrases.shape == (3, 2, 16, 84, 4)
    assert phrases.abs().max() <= 1
    assert critic(phrases).shape == (3,)
    sizes = {}
    for preset in PRESETS:  # every preset builds (on the meta device: no memory, no time)
        with torch.device("meta"):
            config = MuseGANConfig(**PRESETS[preset])
            networks = MuseGANGenerator(config), MuseGANCritic(config)
        sizes[preset] = [sum(p.numel() for p in n.parameters()) for n in networks]
    assert sizes["book"] == [6_576_612, 1_244_417] and sizes["default"] == [612_584, 248_961]
    with pytest.raises(ValueError, match="16 steps x 84 pitches"):
        MuseGANConfig(pitches=88)
    voices = MuseGANGenerator(MuseGANConfig(**{**PRESETS["tiny"], "softmax": True})).sample(3)
    sounding = (voices + 1) / 2  # per voice and step: probabilities of the pitches
    assert sounding.min() >= 0 and sounding.sum(dim=-2).max() <= 1 + 1e-6  # the rest: silence


def test_block_layers_compute_their_convolutions():
    torch.manual_seed(0)
    up = BlockConvTranspose2d(5, 3, (2, 7))
    cells = torch.randn(4, 3, 2, 5)  # (N, H, W, C) channels last
    expected = F.conv_transpose2d(cells.permute(0, 3, 1, 2), up.weight, up.bias, stride=(2, 7))
    assert torch.allclose(up(cells), expected.permute(0, 2, 3, 1), atol=1e-6)
    down = BlockConv3d(4, 6, (2, 1, 12))
    phrases = torch.randn(3, 2, 16, 84, 4)  # (B, D, H, W, C)
    expected = F.conv3d(phrases.permute(0, 4, 1, 2, 3), down.weight, down.bias, stride=(2, 1, 12))
    assert torch.allclose(down(phrases), expected.permute(0, 2, 3, 4, 1), atol=1e-5)


def test_each_voice_comes_from_its_own_noise():
    generator = MuseGANGenerator(TINY).eval()
    noise = sample_noise(TINY, 2, torch.Generator().manual_seed(1))
    melody = noise.melody.clone()
    melody[:, 1] += 1.0  # the alto's melody noise only
    before, after = generator(noise), generator(noise._replace(melody=melody))
    changed = (before - after).abs().amax(dim=(0, 1, 2, 3))  # per voice
    assert changed[1] > 0 and changed[[0, 2, 3]].max() == 0


def test_gradient_penalty_on_hand_made_critics():
    real, fake = torch.ones(2, 16), torch.zeros(2, 16)
    alpha = torch.tensor([[0.25], [0.5]])

    class Linear(torch.nn.Module):  # f(x) = sum(0.5 x): gradient 0.5 everywhere, norm 2
        def forward(self, x):
            return 0.5 * x.sum(dim=1)

    assert gradient_penalty(Linear(), real, fake, alpha).item() == pytest.approx((2 - 1) ** 2)

    class Square(torch.nn.Module):  # f(x) = sum(x^2): gradient 2x, at x = alpha
        def forward(self, x):
            return (x**2).sum(dim=1)

    # |2 * 0.25 * 1| over 16 cells: 0.5 * 4 = 2; |2 * 0.5| * 4 = 4 -> ((2-1)^2 + (4-1)^2) / 2
    assert gradient_penalty(Square(), real, fake, alpha).item() == pytest.approx((1 + 9) / 2)


def test_phrases_become_plus_and_minus_one():
    voices = torch.full((1, 2, 16, 4), -1, dtype=torch.int8)
    voices[0, 0, 3, 2] = 36
    roll = phrases_to_tanh(voices)
    assert roll.shape == (1, 2, 16, 84, 4)
    assert roll[0, 0, 3, 36, 2] == 1 and roll.sum() == -(roll.numel() - 2)


def hand_made_roll() -> np.ndarray:
    """One phrase of 2 bars x 16 steps (see the test for what each voice does)."""
    roll = np.zeros((1, 2, 16, 84, 4), bool)
    flat = roll.reshape(32, 84, 4)  # a view: time across both bars
    c4, e4, g4, a3, c3, c2 = 36, 40, 43, 33, 24, 12  # rows of a roll that starts at C1
    flat[0:8, c4, 0], flat[8:10, e4, 0], flat[10:20, g4, 0] = True, True, True
    flat[16:32, a3, 1] = True  # the alto rests in bar 1
    flat[0:32, c3, 2] = True  # one note held across the bar line
    flat[0:32:2, c2, 3] = True  # sixteen notes of one step each
    return roll


def test_metrics_on_a_hand_made_roll():
    metrics = musegan_metrics(hand_made_roll(), lowest_pitch=24)
    assert metrics["per_track"]["EB"] == [0, 0.5, 0, 0]
    assert metrics["per_track"]["UPC"] == [2, 1, 1, 1]  # soprano: C E G, then G
    assert metrics["per_track"]["QN"] == pytest.approx([2 / 3, 1, 1, 0])  # E4 is 2 steps
    assert metrics["EB"] == 0.125 and metrics["UPC"] == 1.25
    assert metrics["QN"] == pytest.approx((2 / 3 + 2) / 4)
    # Tonal centroids of single pitch classes, by hand: C, E, G, A.
    r3 = math.sqrt(3)
    c, e = np.array([0, 1, 0, 1, 0, 0.5]), np.array([r3 / 2, -1 / 2, 0, 1, r3 / 4, -1 / 4])
    g, a = np.array([1 / 2, r3 / 2, 1, 0, r3 / 4, -1 / 4]), np.array([1, 0, -1, 0, 0, 0.5])
    soprano_bar_1 = (8 * c + 2 * e + 6 * g) / 16
    s_t = (np.linalg.norm(soprano_bar_1 - c) + np.linalg.norm(g - c)) / 2
    expected = {"0-1": math.sqrt(5.75), "0-2": s_t, "0-3": s_t, "1-2": 2, "1-3": 2, "2-3": 0}
    assert metrics["per_pair"] == pytest.approx(expected)
    assert metrics["TD"] == pytest.approx(sum(expected.values()) / 6)
    assert np.allclose(tonal_matrix()[:, [0, 4, 7, 9]].T, [c, e, g, a])


def four_voice_song(number: int, bars: int = 6) -> Score:
    """A patterned four-voice piece: each voice steps through a short figure."""
    figures = ((72, 74, 76, 74), (67, 67, 69, 67), (64, 62, 60, 62), (48, 43, 45, 43))
    tracks = []
    for name, figure in zip(("Soprano", "Alto", "Tenor", "Bass"), figures, strict=True):
        notes = [Note(q, 1, figure[(q + number) % 4] + number % 3) for q in range(4 * bars)]
        tracks.append(Track.from_notes(notes, name=name))
    return Score(tracks=tracks, time_signatures=[TimeSignature(0, 4, 4)])


@pytest.fixture(scope="module")
def roll_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("roll")
    for number in range(6):
        write_midi(four_voice_song(number), folder / "songs" / f"song{number}.mid")
    code = main(["prepare", str(folder / "songs"), "--representation", "pianoroll", "-o",
                 str(folder / "corpus"), "--quiet", "--workers", "1"])  # fmt: skip
    assert code == 0
    return folder / "corpus"


def tiny(**overrides) -> TrainConfig:
    values = dict(model="musegan", preset="tiny", batch_size=4, max_epochs=2, seed=5,
                  progress=False, accelerator="cpu")  # fmt: skip
    return TrainConfig(**{**values, **overrides})


def _weights(folder: Path) -> dict:
    return torch.load(folder / "checkpoints/last.ckpt", weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, roll_corpus) -> Path:
    run = tmp_path_factory.mktemp("trained") / "run"
    summary = train(roll_corpus, run, tiny(max_epochs=2))
    assert summary["epochs"] == 2 and summary["exported"] == "last"
    return run


def test_one_cycle_of_training_changes_both_networks_with_finite_losses(tmp_path, roll_corpus):
    from cadenza.training.gan import MuseGANTask, _loader

    torch.manual_seed(0)
    task = MuseGANTask(TINY.to_dict(), 1e-3, {})
    before = {k: v.clone() for k, v in task.state_dict().items()}
    import lightning as L

    trainer = L.Trainer(max_epochs=1, limit_train_batches=5, logger=False, accelerator="cpu",
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)  # fmt: skip
    phrases = np.load(roll_corpus / "phrases.npy")
    trainer.fit(task, train_dataloaders=_loader(phrases, tiny()))
    logged = trainer.logged_metrics
    for name in ("critic_loss", "generator_loss", "gradient_penalty", "wasserstein_distance"):
        assert torch.isfinite(logged[name]), name
    changed = {k for k, v in task.state_dict().items() if not torch.equal(v, before[k])}
    assert "critic.blocks.0.weight" in changed  # 5 critic steps
    assert "generator.bar_generators.2.dense.0.weight" in changed  # and one generator step
    assert task.critic_updates == 5


def test_training_writes_a_bundle_of_the_generator(trained_run, roll_corpus):
    for name in ("model.safetensors", "config.json", "vocab.json", "primers.safetensors",
                 "metrics.csv", "loss.png", "checkpoints/last.ckpt", "train.json"):  # fmt: skip
        assert (trained_run / name).is_file(), name
    bundle = load_bundle(trained_run)
    assert isinstance(bundle.model, MuseGANGenerator) and not bundle.model.training
    assert bundle.primers.dtype == torch.int8 and bundle.primers.shape[1:] == (2, 16, 4)
    assert bundle.config["training"]["learning_rate"] == 1e-3  # musegan's default
    assert (
        bundle.config["gan"]["critic_steps"] == 5 and bundle.config["gan"]["penalty_weight"] == 10
    )
    checkpoint = torch.load(trained_run / "checkpoints/last.ckpt", weights_only=True)
    assert checkpoint["epoch"] == 1 and checkpoint["critic_updates"] > 0
    saver = next(v for k, v in checkpoint["callbacks"].items() if "ModelCheckpoint" in k)
    assert saver["best_model_path"].endswith("last.ckpt")  # written at every epoch's end
    last = {k.removeprefix("generator."): v for k, v in checkpoint["state_dict"].items()
            if k.startswith("generator.")}  # fmt: skip
    exported = load_file(trained_run / "model.safetensors")
    assert exported.keys() == last.keys()  # the bundle holds the last generator
    assert all(torch.equal(exported[k], last[k]) for k in exported)
    rows = (trained_run / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,critic_loss") and len(rows) == 3
    assert not any(k.startswith("critic") for k in bundle.model.state_dict())


@pytest.mark.slow
def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path, roll_corpus):
    train(roll_corpus, tmp_path / "whole", tiny(max_epochs=3))
    train(roll_corpus, tmp_path / "split", tiny(max_epochs=1))
    train(roll_corpus, tmp_path / "split", tiny(max_epochs=3), resume=True)
    whole, split = _weights(tmp_path / "whole"), _weights(tmp_path / "split")
    assert whole.keys() == split.keys()
    for name, tensor in whole.items():
        assert torch.equal(tensor, split[name]), name
    assert (tmp_path / "split/metrics.csv").read_text() == (
        tmp_path / "whole/metrics.csv"
    ).read_text()


def test_models_and_corpora_that_do_not_belong_together_are_refused(tmp_path, roll_corpus):
    with pytest.raises(CadenzaError, match="trains --model musegan, not chord-lstm"):
        train(roll_corpus, tmp_path / "a", tiny(model="chord-lstm"))
    token_corpus = tmp_path / "tokens"
    write_midi(four_voice_song(0), tmp_path / "songs" / "a.mid")
    assert main(["prepare", str(tmp_path / "songs"), "-o", str(token_corpus), "--quiet"]) == 0
    with pytest.raises(CadenzaError, match="musegan needs a piano-roll corpus"):
        train(token_corpus, tmp_path / "b", tiny())
    with pytest.raises(CadenzaError, match="one device"):
        train(roll_corpus, tmp_path / "c", tiny(devices="2"))
    assert not any((tmp_path / name).exists() for name in "abc")
    with pytest.raises(CadenzaError, match="invalid musegan config"):
        build_model("musegan", {**TINY.to_dict(), "bars": 1})


def test_generate_writes_four_voices_with_a_change_of_one_voice(tmp_path, trained_run, capsys):
    song = tmp_path / "song.mid"
    code = main(["generate", str(trained_run), "-o", str(song), "--bars", "3",
                 "--change", "melody:alto", "--plots", "--seed", "4"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "then one silent bar and the same with new melody noise for the alto" in printed
    assert printed.count("nearest training phrase song") == 4  # 2 phrases, twice
    assert "voice-steps differ" in printed
    score = read_midi(song)
    names = [t.name for t in score.tracks]  # a silent voice leaves no track in the file
    assert names == [n for n in ("Soprano", "Alto", "Tenor", "Bass") if n in names]
    assert len(names) >= 2 and score.end <= 7 * 4  # 3 bars, a silent bar, 3 bars
    for track in score.tracks:  # the first version and the second
        first = [n for n in track.notes() if n.onset < 12]
        second = [n._replace(onset=n.onset - 16) for n in track.notes() if n.onset >= 16]
        if track.name != "Alto":  # only the alto's noise changed
            assert first == second
    for voice in ("soprano", "alto", "tenor", "bass"):
        assert (tmp_path / f"song-{voice}.png").is_file()


def test_generate_refuses_bad_musegan_flags(tmp_path, trained_run, capsys):
    for flags in (["--change", "melody"], ["--change", "melody:viola"], ["--bars", "0"],
                  ["--primer", "none"]):  # fmt: skip
        assert main(["generate", str(trained_run), "-o", str(tmp_path / "x.mid"), *flags]) == 2
        assert capsys.readouterr().err.startswith("cadenza: error: ")
    assert not (tmp_path / "x.mid").exists()


def test_evaluate_prints_the_metrics_next_to_the_training_data(trained_run, capsys):
    assert main(["evaluate", str(trained_run), "--phrases", "40"]) == 0
    printed = capsys.readouterr().out
    for label in ("empty bars (EB)", "used pitch classes per bar (UPC)", "(QN)", "(TD)"):
        assert label in printed
    result = json.loads((trained_run / "evaluation.json").read_text())
    assert result["phrases"] == 40 and set(result["generated"]) >= {"EB", "UPC", "QN", "TD"}
    training = load_bundle(trained_run).primers.numpy()
    from cadenza.representations.pianoroll import voices_to_roll

    assert result["training"]["UPC"] == musegan_metrics(voices_to_roll(training))["UPC"]
