"""A long primer is read through the model only as far as the model can use it: a
transformer's context, a recurrent model's training window."""

import warnings

import pytest
import torch

from cadenza.bundle import load_bundle
from cadenza.generation.compose import ComposeSettings, compose
from cadenza.generation.generate import file_primer_ids, generate_ids, primer_context
from cadenza.generation.sampling import SamplingConfig
from cadenza.music import Note, Score, Track, read_score, write_midi
from cadenza.pretrained import available
from cadenza.representations.pitch_duration import event_pitches

SCALE = [(60,), (62,), (64,), (65,), (67,), (69,), (71,), (72,)]


def counting(model, monkeypatch) -> list[int]:
    """Record the number of positions of every input the model is given."""
    lengths: list[int] = []
    forward = model.forward

    def recorded(tokens, *args, **kwargs):
        lengths.append(tokens.shape[1])
        return forward(tokens, *args, **kwargs)

    monkeypatch.setattr(model, "forward", recorded)
    return lengths


def long_melody(path, steps: int, odd_lengths_first: int = 0, chords=SCALE):
    """A one-track MIDI of `steps` eighths, going round `chords` (the C major scale); the
    first `odd_lengths_first` last 5/12 of a quarter (no model knows that duration)."""
    notes, time = [], 0.0
    for number in range(steps):
        length = 5 / 12 if number < odd_lengths_first else 0.5
        notes += [Note(time, length, pitch) for pitch in chords[number % len(chords)]]
        time += length
    return write_midi(Score(tracks=[Track.from_notes(notes, name="Melody")]), path)


def known_triads(bundle) -> list[tuple[int, ...]]:
    """Eight chords of three pitches that a pitch-duration model knows."""
    triads = [t for t in bundle.vocabulary.tokens if t.count(".") == 2 and not t[0].isdigit()]
    return [tuple(event_pitches(t)) for t in triads[:8]]


def test_the_transformer_reads_only_its_context(tmp_path, monkeypatch):
    bundle = load_bundle(available()["bach-chorale"])
    primer = long_melody(tmp_path / "long.mid", 3000)
    assert len(file_primer_ids(bundle, primer)) > 3 * 3000  # the grammar follows all of it
    lengths = counting(bundle.model, monkeypatch)
    compose(bundle, ComposeSettings(length=8, primer=str(primer), seed=1))
    context = primer_context(bundle)
    assert context == bundle.model.max_window == bundle.model.config.context  # 512 here
    assert lengths[0] == context and max(lengths) <= context


def test_a_recurrent_model_reads_its_training_window(monkeypatch):
    bundle = load_bundle(available()["bach-chord"])
    window = primer_context(bundle)
    assert window == bundle.config["training"]["window"]  # 100 here
    primer = torch.randint(
        len(bundle.vocabulary), (5000,), generator=torch.Generator().manual_seed(0)
    )
    lengths = counting(bundle.model, monkeypatch)
    produced = generate_ids(
        bundle, primer.tolist(), 6, SamplingConfig(), torch.Generator().manual_seed(0)
    )
    assert len(produced) == 6
    assert lengths[0] == window and set(lengths[1:]) == {1}  # the window, then a step per token


def test_a_file_primer_without_grammar_is_cut_before_its_tokens_are_mapped(tmp_path, monkeypatch):
    bundle = load_bundle(available()["bach-attention"])
    context = primer_context(bundle)
    assert context == 2 * bundle.config["training"]["window"]  # (pitch, duration) pairs: 64
    path = long_melody(tmp_path / "long.mid", 4000, 3000, known_triads(bundle))
    encoder = bundle.representation()
    whole = encoder.primer_tokens(encoder.encode(read_score(path)))
    assert "5/12" in whole and "5/12" not in whole[-context:]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the unknown durations lie before the part read
        ids = file_primer_ids(bundle, path)
    assert bundle.vocabulary.decode(ids) == whole[-context:]
    lengths = counting(bundle.model, monkeypatch)
    composition = compose(bundle, ComposeSettings(length=4, primer=str(path), seed=2))
    assert lengths[0] == context // 2 and composition.score.note_count >= 1


@pytest.mark.parametrize("model", ["bach-chord", "bach-attention"])
def test_a_short_primer_is_read_whole(tmp_path, model):
    bundle = load_bundle(available()[model])
    path = long_melody(
        tmp_path / "short.mid", 12, chords=known_triads(load_bundle(available()["bach-attention"]))
    )
    encoder = bundle.representation()
    whole = encoder.primer_tokens(encoder.encode(read_score(path)))
    assert len(whole) < primer_context(bundle)
    assert bundle.vocabulary.decode(file_primer_ids(bundle, path)) == whole
