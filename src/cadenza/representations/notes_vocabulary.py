"""The `notes` representation's closed vocabulary: its token tables, transposition, the
`Key_k` numbering, and a quantized piece's token ids (the encoder's one vectorized step).

See representations/notes.py for what the tokens mean and in which order they come.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from cadenza.music.keys import key_from_tonic
from cadenza.music.score import KeySignature, Score
from cadenza.representations.notes_quantize import (
    DURATIONS,
    MAX_TRACKS,
    METERS,
    TEMPO_BINS,
    QuantizedPiece,
)

START, END, BAR = "START", "END", "Bar"
DRUM_PROGRAM = "Program_drum"
MAX_POSITION = 96  # bars hold at most 8 quarters
MAX_VELOCITY_BINS = 32

# Token kinds, as the decoder sees them.
(
    START_KIND, END_KIND, BAR_KIND, POSITION_KIND, TEMPO_KIND, TRACK_KIND, PROGRAM_KIND,
    PITCH_KIND, VELOCITY_KIND, DURATION_KIND, FIM_KIND, KEY_KIND,
) = range(12)  # fmt: skip
# Fill-in-the-middle sentinels (training windows rearranged as prefix, suffix, middle: see
# training/data.py); they never appear in an encoded score and decoding skips them.
FIM_TOKENS = ("FIM_Prefix", "FIM_Suffix", "FIM_Middle")
# After `FIM_Middle`, how many bars the middle holds (the last: that many or more), so that
# the model knows where the middle meets the suffix.
MIDDLE_BARS = 16
FIM_BARS_TOKENS = tuple(f"FIM_Bars_{n}" for n in range(1, MIDDLE_BARS + 1))


def meter_token(meter: tuple[int, int]) -> str:
    """A meter (numerator, denominator) as the token that opens its first bar: "Bar_3/4"."""
    return f"Bar_{meter[0]}/{meter[1]}"


class VocabularyTables(NamedTuple):
    """A vocabulary's tokens and the lookup tables that encoding and decoding use."""

    tokens: list[str]  # in id order
    array: np.ndarray  # the same, as an object array (ids -> strings in one step)
    table: dict[str, tuple[int, int]]  # token -> (kind, value), for decoding
    base: dict[str, int]  # family ("Pos_", "Pitch_", ...) -> id of its first token


@lru_cache(maxsize=8)
def vocabulary_tables(velocity_bins: int) -> VocabularyTables:
    """The vocabulary of these velocity settings, with its lookup tables (built once)."""
    groups = {
        "": [(START, START_KIND, 0), (END, END_KIND, 0), (BAR, BAR_KIND, -1)],
        "Bar_": [(meter_token(m), BAR_KIND, i) for i, m in enumerate(METERS)],
        "Pos_": [(f"Pos_{k}", POSITION_KIND, k) for k in range(MAX_POSITION)],
        "Tempo_": [(f"Tempo_{bpm}", TEMPO_KIND, i) for i, bpm in enumerate(TEMPO_BINS.tolist())],
        "Track_": [(f"Track_{i}", TRACK_KIND, i) for i in range(MAX_TRACKS)],
        "Program_": [(f"Program_{p}", PROGRAM_KIND, p) for p in range(128)]
        + [(DRUM_PROGRAM, PROGRAM_KIND, -1)],
        "Pitch_": [(f"Pitch_{p}", PITCH_KIND, p) for p in range(128)],
        "Vel_": [(f"Vel_{b}", VELOCITY_KIND, b) for b in range(velocity_bins)],
        "Dur_": [(f"Dur_{k}", DURATION_KIND, k) for k in DURATIONS.tolist()],
        "FIM_": [(token, FIM_KIND, i) for i, token in enumerate(FIM_TOKENS)],
        "Key_": [(f"Key_{k}", KEY_KIND, k) for k in range(24)],  # older vocabularies lack these
        "FIM_Bars_": [(token, FIM_KIND, n) for n, token in enumerate(FIM_BARS_TOKENS, 1)],
    }
    base, rows = {}, []
    for family, group in groups.items():
        base[family] = len(rows)
        rows += group
    tokens = [token for token, _, _ in rows]
    table = {token: (kind, value) for token, kind, value in rows}
    return VocabularyTables(tokens, np.array(tokens, dtype=object), table, base)


def token_pitches(token: str) -> list[int]:
    """The MIDI pitch a `Pitch_p` token sounds, as a list; [] for every other token."""
    if token.startswith("Pitch_") and token[6:].isdigit():
        return [int(token[6:])]
    return []


def transposition_table(tokens: Sequence[str], shift: int) -> np.ndarray:
    """For each id of vocabulary `tokens`, the id after transposing by `shift` semitones.

    `Pitch_p` and `Key_k` tokens move; a pitch leaves 0..127 (or whose target is not in
    the vocabulary) maps to -1. Drum notes are transposed too: a table per id cannot see
    which track a pitch belongs to (the caller masks drum tracks if it needs to)."""
    index = {token: i for i, token in enumerate(tokens)}
    table = np.arange(len(tokens), dtype=np.int64)
    for i, token in enumerate(tokens):
        for pitch in token_pitches(token):
            moved = pitch + shift
            table[i] = index.get(f"Pitch_{moved}", -1) if 0 <= moved <= 127 else -1
        if token.startswith("Key_"):
            key = int(token[4:])
            table[i] = index.get(f"Key_{(key + shift) % 12 + key // 12 * 12}", -1)
    return table


def key_value(score: Score) -> int | None:
    """The number of the `Key_k` token for the score's first key signature, if it has one."""
    if not score.key_signatures:
        return None
    key = score.key_signatures[0]
    return key.tonic_pitch_class + (12 if key.minor else 0)


def key_signature(value: int) -> KeySignature:
    """The key signature (at time 0) that `Key_<value>` stands for."""
    return key_from_tonic(value % 12, value >= 12)


def token_ids(piece: QuantizedPiece, velocity_bins: int, key: int | None) -> np.ndarray:
    """The ids of a quantized piece's tokens: every bar, position, tempo and note is one
    row of up to four ids, and one sort by (tick, kind, track, pitch) puts them in order."""
    base = vocabulary_tables(velocity_bins).base
    bars = piece.bar_starts
    bar_ids = np.where(piece.bar_meters >= 0, base["Bar_"] + piece.bar_meters, base[""] + 2)
    tempo_ticks, tempo_bins = piece.tempo_events()
    event_ticks = np.unique(np.concatenate([piece.onsets, tempo_ticks]))
    in_bar = event_ticks - bars[np.searchsorted(bars, event_ticks, side="right") - 1]
    notes = np.full((len(piece.onsets), 4), -1, np.int64)  # (N, 4): track pitch [vel] dur
    notes[:, 0] = base["Track_"] + piece.tracks
    notes[:, 1] = base["Pitch_"] + piece.pitches
    if velocity_bins:
        notes[:, 2] = base["Vel_"] + piece.velocity_bins
    notes[:, 3] = base["Dur_"] + np.searchsorted(DURATIONS, piece.durations)
    singles = np.full((len(bars) + len(event_ticks) + len(tempo_ticks), 4), -1, np.int64)
    singles[:, 0] = np.concatenate([bar_ids, base["Pos_"] + in_bar, base["Tempo_"] + tempo_bins])
    rows = np.concatenate([singles, notes])  # (items, 4), -1 where an item has fewer ids
    sizes = [len(bars), len(event_ticks), len(tempo_ticks), len(notes)]
    ticks = np.concatenate([bars, event_ticks, tempo_ticks, piece.onsets])
    kinds = np.repeat(np.arange(4), sizes)
    padding = np.zeros(len(singles), np.int64)
    tracks = np.concatenate([padding, piece.tracks])
    pitches = np.concatenate([padding, piece.pitches])
    body = rows[np.lexsort((pitches, tracks, kinds, ticks))].ravel()
    programs = [p if p >= 0 else 128 for p in piece.programs]  # Program_drum follows 127
    header = np.column_stack(
        [base["Track_"] + np.arange(len(programs)), base["Program_"] + np.array(programs)]
    ).ravel()
    opening = [base[""], *header.tolist(), base["Tempo_"] + piece.initial_tempo]
    if key is not None:
        opening.append(base["Key_"] + key)
    return np.concatenate([opening, body[body >= 0], [base[""] + 1]]).astype(np.int64)
