"""Constrained sampling: masks per vocabulary, the per-step rules, and both models end to end."""

from itertools import groupby

import pytest
import torch

from cadenza.bundle import load_bundle
from cadenza.cli import main
from cadenza.errors import CadenzaError
from cadenza.generation.constraints import Constraints, Steering, parse_pitch, token_masks
from cadenza.generation.events import generate_events
from cadenza.generation.generate import generate_ids
from cadenza.generation.sampling import SamplingConfig, sample_next
from cadenza.music import read_midi
from cadenza.music.keys import parse_key
from cadenza.representations.chord import token_pitches
from cadenza.representations.pitch_duration import END, event_pitches, pair_vocabularies

C_MAJOR = {0, 2, 4, 5, 7, 9, 11}


def c_major(**settings) -> Constraints:
    return Constraints(key=parse_key("C"), key_name="C", scale="major", **settings)


def favouring(run, token: str):
    """The run's model, made to all but always choose `token` (by a large output bias)."""
    bundle = load_bundle(run)
    with torch.no_grad():
        if hasattr(bundle.model, "duration_head"):  # attention-lstm: bias the pitch logits
            pitches, _ = pair_vocabularies(bundle.vocabulary.tokens)
            model = bundle.model
            bias = model.pitch_bias if hasattr(model, "pitch_bias") else model.pitch_head.bias
            bias[pitches.index(token)] += 50
        else:
            bundle.model.head[-1].bias[bundle.vocabulary.index[token]] += 50
    return bundle


def test_parse_pitch():
    assert [parse_pitch(p) for p in ("C3", "60", "Bb2", "F#4", " 0 ")] == [48, 60, 46, 66, 0]
    for bad in ("H2", "200", "-1", "C"):
        with pytest.raises(CadenzaError, match="pitch"):
            parse_pitch(bad)


def test_chord_token_masks_by_hand():
    tokens = ("C4", "C#4", "0.4.7", "1.4.7", "0", "4.7", "G5", "0.7")
    masks = token_masks(c_major(pitch_range=(60, 64)), "chord", tokens)
    assert masks.in_scale.tolist() == [True, False, True, False, True, True, True, True]
    # decoded pitches: chords from C4 (0.4.7 -> 60 64 67), "0" -> C4 + C5
    assert masks.in_range.tolist() == [True, True, False, False, False, False, False, False]
    # the tonic: holds C, nothing outside C E G
    assert masks.tonic.tolist() == [True, False, True, False, True, False, False, True]
    assert masks.end is None


def test_event_token_masks_by_hand():
    tokens = ("START", "END", "rest", "C4", "A3.C4.E4", "F#4", "A4")
    minor = Constraints(key=parse_key("A minor"), key_name="A minor", scale="minor")
    masks = token_masks(minor, "pitch-duration", tokens)
    assert masks.in_scale.tolist() == [True, True, True, True, True, False, True]
    assert masks.tonic.tolist() == [False, False, False, False, True, False, True]
    assert masks.end == 1
    harmonic = Constraints(key=parse_key("A minor"), scale="harmonic-minor")  # G# not G
    assert token_masks(harmonic, "pitch-duration", ("G4", "G#4")).in_scale.tolist() == [
        False,
        True,
    ]


def test_constraints_name_their_flags():
    names = Constraints(key=parse_key("Bb minor"), scale="minor", max_repeat=3).names()
    assert names == {"scale": "--key B- minor --scale minor", "repeat": "--max-repeat 3"}
    names = c_major(pitch_range=(48, 84), end_on_tonic=True, no_repeat_ngram=5).names()
    assert names["range"] == "--pitch-range C3 C6" and names["ngram"] == "--no-repeat-ngram 5"
    assert names["tonic"] == "--end-on-tonic (--key C)"


def test_frame_token_masks_by_hand():
    masks = token_masks(
        c_major(pitch_range=(48, 64)), "frames", ("START", "rest", "48.64.67", "61")
    )
    assert masks.in_scale.tolist() == [True, True, True, False]
    assert masks.in_range.tolist() == [True, True, False, True]
    assert masks.tonic.tolist() == [False, False, True, False]
    with pytest.raises(CadenzaError, match="'piano-roll' representation"):
        token_masks(c_major(), "piano-roll", ("C4",))


def test_repeat_and_ngram_rules_by_hand():
    masks = token_masks(Constraints(max_repeat=2), "chord", ("C4", "D4", "E4"))
    steering = Steering(Constraints(max_repeat=2), masks, 10, [(0,), (0,)])
    assert steering.first_allowed(0).tolist() == [False, True, True]
    steering.push((1,))
    assert steering.first_allowed(1).tolist() == [True, True, True]
    ngram = Constraints(no_repeat_ngram=2)
    steering = Steering(
        ngram, token_masks(ngram, "chord", ("C4", "D4", "E4")), 10, [(0,), (1,), (0,)]
    )
    assert steering.first_allowed(3).tolist() == [True, False, True]  # 0 1 was seen
    # two streams: a pitch is banned only when every duration after it would repeat
    events = Steering(ngram, masks, 10, [(0, 0), (1, 0), (0, 0), (1, 1)], second_size=2)
    events.push((0, 0))
    assert events.first_allowed(0).tolist() == [True, False, True]  # (0,0) then (1,0), (1,1)
    events = Steering(ngram, masks, 10, [(0, 0), (1, 0), (0, 0)], second_size=2)
    assert events.first_allowed(0).tolist() == [True, True, True]
    assert events.second_allowed(1).tolist() == [False, True]


def test_masked_sampling_keeps_filters_among_allowed_tokens():
    logits = torch.tensor([5.0, 4.0, 3.0, 2.0])
    allowed = torch.tensor([False, True, True, True])
    generator = torch.Generator().manual_seed(0)
    assert sample_next(logits, SamplingConfig(temperature=0), generator, allowed) == 1
    assert {
        sample_next(logits, SamplingConfig(top_k=1), generator, allowed) for _ in range(50)
    } == {1}
    picks = {sample_next(logits, SamplingConfig(), generator, allowed) for _ in range(200)}
    assert picks == {1, 2, 3}


def test_key_and_scale_keep_every_pitch_in_the_scale(chord_run):
    bundle = load_bundle(chord_run)

    def pitch_classes(constraints):
        generator = torch.Generator().manual_seed(1)
        ids = generate_ids(bundle, [], 400, SamplingConfig(), generator, constraints)
        return [p % 12 for t in bundle.vocabulary.decode(ids) for p in token_pitches(t)]

    assert not set(pitch_classes(None)) <= C_MAJOR  # unconstrained, the model leaves the scale
    constrained = pitch_classes(c_major())
    assert len(constrained) >= 400 and set(constrained) <= C_MAJOR


def test_max_repeat_and_no_repeat_ngram_on_a_model_that_repeats(chord_run):
    bundle = favouring(chord_run, "C4")
    generator = torch.Generator().manual_seed(0)
    c4 = bundle.vocabulary.index["C4"]
    free = generate_ids(bundle, [c4], 100, SamplingConfig(), generator)
    assert free == [c4] * 100  # left alone it only plays C4
    ids = generate_ids(bundle, [c4], 100, SamplingConfig(), generator, Constraints(max_repeat=4))
    runs = [len(list(run)) for _, run in groupby(ids)]
    assert max(runs) == 4  # as long as allowed, never longer
    ids = generate_ids(
        bundle, [5, 6], 60, SamplingConfig(), generator, Constraints(no_repeat_ngram=3)
    )
    sequence = [5, 6, *ids]
    trigrams = [tuple(sequence[i : i + 3]) for i in range(len(sequence) - 2)]
    assert len(set(trigrams)) == len(trigrams)


def test_impossible_constraints_fail_clearly(chord_run, tmp_path, capsys):
    bundle = load_bundle(chord_run)
    generator = torch.Generator()
    with pytest.raises(CadenzaError, match=r"--pitch-range C8 C8 .* at generated step 1"):
        generate_ids(bundle, [], 10, SamplingConfig(), generator, c_major(pitch_range=(108, 108)))
    known = [t for t in bundle.vocabulary.tokens if t[0].isalpha()]
    only = parse_pitch(known[0])  # one lone-note token fits this range: a second is impossible
    constraints = Constraints(pitch_range=(only, only), max_repeat=1)
    with pytest.raises(CadenzaError, match=r"--max-repeat 1 together with --pitch-range .* step 2"):
        generate_ids(bundle, [], 10, SamplingConfig(), generator, constraints)
    song = tmp_path / "song.mid"
    assert main(["generate", str(chord_run), "-o", str(song), "--length", "5", "--key", "C",
                 "--scale", "major", "--pitch-range", "C8", "C8"]) == 2  # fmt: skip
    assert "--pitch-range C8 C8 together with --key C --scale major" in capsys.readouterr().err
    assert main(["generate", str(chord_run), "-o", str(song), "--scale", "major"]) == 2
    assert "need --key" in capsys.readouterr().err
    assert not song.exists()


def test_a_scale_and_range_leaving_only_rests_are_refused(pair_run, tmp_path, capsys):
    tokens = ("START", "END", "rest", "C4", "C#4", "D4")
    masks = token_masks(c_major(pitch_range=(61, 61)), "pitch-duration", tokens)
    assert masks.sounds.tolist() == [False, False, False, True, True, True]
    with pytest.raises(CadenzaError, match=r"--pitch-range C#4 C#4 together with --key C "
                       r"--scale major leaves no pitch to play \(only rests\)"):  # fmt: skip
        Steering(c_major(pitch_range=(61, 61)), masks, 10)
    only_range = Constraints(pitch_range=(120, 127))
    with pytest.raises(CadenzaError, match=r"^the constraint --pitch-range C9 G9 leaves no pitch"):
        Steering(only_range, token_masks(only_range, "frames", ("START", "rest", "60")), 10)
    d4 = c_major(pitch_range=(62, 62))
    Steering(d4, token_masks(d4, "pitch-duration", tokens), 10)  # D4 is left: no complaint
    song = tmp_path / "silent.mid"
    assert main(["generate", str(pair_run), "-o", str(song), "--key", "C", "--scale", "major",
                 "--pitch-range", "C#4", "C#4", "--primer", "none"]) == 2  # fmt: skip
    assert "leaves no pitch to play" in capsys.readouterr().err and not song.exists()


def test_end_on_tonic_for_chord_tokens(chord_run):
    bundle = load_bundle(chord_run)
    tonic_ends = []
    for seed in range(8):
        generator = torch.Generator().manual_seed(seed)
        ids = generate_ids(bundle, [], 12, SamplingConfig(), generator, c_major(end_on_tonic=True))
        classes = {p % 12 for p in token_pitches(bundle.vocabulary.tokens[ids[-1]])}
        tonic_ends.append(0 in classes and classes <= {0, 4, 7})
    assert all(tonic_ends)


def test_events_keep_the_scale_and_end_on_the_tonic(pair_run):
    bundle = favouring(pair_run, END)  # left alone, it would stop at once
    generator = torch.Generator().manual_seed(2)
    sampling = SamplingConfig()
    free, _ = generate_events(bundle, [], 40, sampling, sampling, generator)
    assert free == []
    for seed in range(5):
        generator = torch.Generator().manual_seed(seed)
        constraints = c_major(end_on_tonic=True)
        tokens, _ = generate_events(
            bundle, [], 40, sampling, sampling, generator, constraints=constraints
        )
        pitches = [p for t in tokens[::2] for p in event_pitches(t)]
        assert tokens and {p % 12 for p in pitches} <= C_MAJOR
        last = {p % 12 for p in event_pitches(tokens[-2])}
        assert 0 in last and last <= {0, 4, 7}
        # it stops as soon as the tonic is reached: no earlier event was a tonic
        earlier = [{p % 12 for p in event_pitches(t)} for t in tokens[:-2:2]]
        assert not any(0 in e and e <= {0, 4, 7} for e in earlier)


def test_cli_generate_with_constraints(pair_run, tmp_path):
    song = tmp_path / "song.mid"
    assert main(["generate", str(pair_run), "-o", str(song), "--primer", "none", "--length", "60",
                 "--key", "C", "--scale", "major", "--pitch-range", "C4", "72", "--max-repeat", "2",
                 "--seed", "3"]) == 0  # fmt: skip
    pitches = read_midi(song).tracks[0].pitches
    assert len(pitches) and {int(p) % 12 for p in pitches} <= C_MAJOR
    assert pitches.min() >= 60 and pitches.max() <= 72
