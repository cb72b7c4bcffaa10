"""Fill-in-the-middle: training windows rearranged at bar lines, and back."""

import numpy as np
import pytest

from cadenza.corpus.store import Corpus
from cadenza.errors import CadenzaError
from cadenza.representations.notes import NotesRepresentation
from cadenza.training.data import FillInTheMiddle, split_fill_in_the_middle
from cadenza.training.train import TrainConfig, fill_in_the_middle_share

NOTES = NotesRepresentation()
TOKENS = NOTES.vocabulary_tokens()
INDEX = {token: i for i, token in enumerate(TOKENS)}
SENTINELS = [INDEX[t] for t in NOTES.fill_in_the_middle_tokens]


def _window() -> np.ndarray:
    bar = ["Bar", "Pos_0", "Track_0", "Pitch_60", "Dur_12"]
    words = ["Pos_12", "Track_0", "Pitch_62", "Dur_12", *bar * 5, "Bar_3/4", "Pos_0", "END"]
    return np.array([INDEX[t] for t in words])


def test_rearrangement_round_trips_and_cuts_at_bar_lines():
    fill = FillInTheMiddle(0.5, np.array(SENTINELS), NOTES.boundary_tokens(TOKENS))
    window = _window()
    for seed in range(20):
        rearranged = fill.rearrange(window, np.random.default_rng(seed))
        assert len(rearranged) == len(window)
        assert rearranged[0] == SENTINELS[1]  # the suffix first
        prefix, middle, suffix = split_fill_in_the_middle(rearranged.tolist(), SENTINELS)
        assert prefix + middle + suffix == window[:-3].tolist()  # three tokens gave room
        assert TOKENS[middle[0]].startswith("Bar") and TOKENS[suffix[0]].startswith("Bar")
    same = [fill.rearrange(window, np.random.default_rng(7)).tolist() for _ in range(2)]
    assert same[0] == same[1]


def test_the_middle_states_how_many_bars_it_holds():
    counts = np.array([INDEX[t] for t in NOTES.fill_in_the_middle_bars_tokens])
    fill = FillInTheMiddle(0.5, np.array(SENTINELS), NOTES.boundary_tokens(TOKENS), counts)
    window = _window()
    for seed in range(20):
        rearranged = fill.rearrange(window, np.random.default_rng(seed)).tolist()
        assert len(rearranged) == len(window)
        after = rearranged.index(SENTINELS[2]) + 1
        stated = TOKENS[rearranged[after]]
        prefix, middle, suffix = split_fill_in_the_middle(rearranged, SENTINELS, counts)
        assert prefix + middle + suffix == window[:-4].tolist()  # four tokens gave room
        bars = sum(TOKENS[i].startswith("Bar") for i in middle)
        assert stated == f"FIM_Bars_{bars}"


def test_both_cuts_fall_in_one_piece_of_the_window():
    start = INDEX["START"]
    fill = FillInTheMiddle(0.5, np.array(SENTINELS), NOTES.boundary_tokens(TOKENS), None, start)
    first = _window()[:-1].tolist()  # a piece of seven bar lines, without its END
    words = ["END", "START", "Track_0", "Program_0", "Bar", "Pos_0", "Track_0", "Pitch_67",
             "Dur_12", "Bar", "Pos_0", "Track_0", "Pitch_65", "Dur_12", "Pos_12"]  # fmt: skip
    window = np.array(first + [INDEX[t] for t in words] + [INDEX["END"]] * 3)
    opened = len(first) + 1  # where the second piece starts
    seen = set()
    for seed in range(40):
        rearranged = fill.rearrange(window, np.random.default_rng(seed)).tolist()
        prefix, middle, suffix = split_fill_in_the_middle(rearranged, SENTINELS)
        cut_at, suffix_at = len(prefix), len(prefix) + len(middle)
        seen.add(cut_at < opened)
        assert (cut_at < opened) == (suffix_at < opened)  # the middle and suffix: one piece
        assert TOKENS[middle[0]].startswith("Bar") and TOKENS[suffix[0]].startswith("Bar")
    assert seen == {True, False}  # either piece may be cut


def test_a_window_without_two_bar_lines_stays_as_it_is():
    fill = FillInTheMiddle(1.0, np.array(SENTINELS), NOTES.boundary_tokens(TOKENS))
    window = np.array([INDEX[t] for t in ["Pos_0", "Track_0", "Pitch_60", "Dur_12", "Bar"]])
    assert fill.rearrange(window, np.random.default_rng(0)).tolist() == window.tolist()
    with pytest.raises(ValueError):
        split_fill_in_the_middle(window.tolist(), SENTINELS)


def test_share_defaults_and_refusals(corpus):
    opened = Corpus(corpus)  # chord tokens: no bar lines
    assert fill_in_the_middle_share(opened, None) == 0.0
    with pytest.raises(CadenzaError, match="--fill-in-the-middle: the chord representation"):
        fill_in_the_middle_share(opened, 0.3)
    with pytest.raises(CadenzaError, match=r"--fill-in-the-middle 1\.5"):
        TrainConfig(fill_in_the_middle=1.5)
