"""The `notes` representation: REMI-style note-level event tokens, tracks kept apart.

A piece reads

    START  Track_0 Program_p  Track_1 Program_p ...  Tempo_<bpm>  [Key_k]
    Bar_<n>/<d>  Pos_k [Tempo_<bpm>]  Track_i Pitch_p [Vel_b] Dur_k  Track_i Pitch_p Dur_k ...
    Bar  Pos_k ...
    END

`Bar_<n>/<d>` opens the first bar and every bar where the meter changes, `Bar` the others
(empty bars included). `Pos_k` is the onset inside the bar in twelfths of a quarter (the
grid holds 16ths, triplet 8ths and triplet 16ths) and comes only where a note starts or the
tempo changes; the notes at one position follow sorted by track, then pitch. `Dur_k` is a
length in twelfths on a closed grid (`DURATIONS`).

A pickup (an incomplete first bar) starts the first bar late: a one-quarter upbeat in 4/4
is at `Pos_36`. So that decoding can tell a pickup from a first bar that opens with
silence, the moment the piece starts (time 0) always carries an event: when no note starts
there, the opening tempo is stated again at that position. The first bar's first position
is therefore where time 0 lies, and the pickup is the rest of that bar.

`Key_k` states the piece's key where the score has a key signature (its first one): `k` is
the tonic's pitch class for a major key, 12 + the tonic's pitch class for a minor one, so
transposing moves it like a pitch. Decoding gives it back as a signature at time 0.

Every token comes from a closed vocabulary fixed by the settings (`vocabulary_tokens`);
`quantize` gives, without any tokens, exactly the score that `decode(encode(score))` does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.music.keys import key_from_tonic
from cadenza.music.score import (
    DEFAULT_TEMPO_BPM,
    DEFAULT_VELOCITY,
    KeySignature,
    Score,
    TempoChange,
    TimeSignature,
    Track,
)
from cadenza.representations.notes_quantize import (
    DURATIONS,
    MAX_TRACKS,
    METERS,
    TEMPO_BINS,
    TICKS_PER_QUARTER,
    QuantizedPiece,
    bar_length,
    quantize_piece,
    velocity_value,
)

START, END, BAR = "START", "END", "Bar"
DRUM_PROGRAM = "Program_drum"
MAX_POSITION = 96  # bars hold at most 8 quarters
MAX_VELOCITY_BINS = 32
DEFAULT_METER = METERS.index((4, 4))

# Token kinds, as the decoder sees them.
_START, _END, _BAR, _POS, _TEMPO, _TRACK, _PROGRAM, _PITCH, _VEL, _DUR, _FIM, _KEY = range(12)
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


class _Vocabulary(NamedTuple):
    tokens: list[str]  # in id order
    array: np.ndarray  # the same, as an object array (ids -> strings in one step)
    table: dict[str, tuple[int, int]]  # token -> (kind, value), for decoding
    base: dict[str, int]  # family ("Pos_", "Pitch_", ...) -> id of its first token


@lru_cache(maxsize=8)
def _vocabulary(velocity_bins: int) -> _Vocabulary:
    groups = {
        "": [(START, _START, 0), (END, _END, 0), (BAR, _BAR, -1)],
        "Bar_": [(meter_token(m), _BAR, i) for i, m in enumerate(METERS)],
        "Pos_": [(f"Pos_{k}", _POS, k) for k in range(MAX_POSITION)],
        "Tempo_": [(f"Tempo_{bpm}", _TEMPO, i) for i, bpm in enumerate(TEMPO_BINS.tolist())],
        "Track_": [(f"Track_{i}", _TRACK, i) for i in range(MAX_TRACKS)],
        "Program_": [(f"Program_{p}", _PROGRAM, p) for p in range(128)]
        + [(DRUM_PROGRAM, _PROGRAM, -1)],
        "Pitch_": [(f"Pitch_{p}", _PITCH, p) for p in range(128)],
        "Vel_": [(f"Vel_{b}", _VEL, b) for b in range(velocity_bins)],
        "Dur_": [(f"Dur_{k}", _DUR, k) for k in DURATIONS.tolist()],
        "FIM_": [(token, _FIM, i) for i, token in enumerate(FIM_TOKENS)],
        "Key_": [(f"Key_{k}", _KEY, k) for k in range(24)],  # older vocabularies lack these
        "FIM_Bars_": [(token, _FIM, n) for n, token in enumerate(FIM_BARS_TOKENS, 1)],
    }
    base, rows = {}, []
    for family, group in groups.items():
        base[family] = len(rows)
        rows += group
    tokens = [token for token, _, _ in rows]
    table = {token: (kind, value) for token, kind, value in rows}
    return _Vocabulary(tokens, np.array(tokens, dtype=object), table, base)


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


@dataclass(frozen=True)
class NotesRepresentation:
    """Note-level event tokens (REMI with tracks): bars, positions, tempo, and per note its
    track, pitch, optional velocity bin and duration."""

    velocity_bins: int = 0  # 0: no velocity tokens (decoded notes get `velocity`)
    velocity: int = DEFAULT_VELOCITY
    # Tracks that sing one note at a time, for the sampling grammar: a fact of the training
    # data (`corpus_facts`), kept in the run's config, not a setting of the tokens.
    monophonic_tracks: tuple[int, ...] = ()
    track_ranges: tuple[tuple[int, int], ...] = ()  # also a fact: (lowest, highest) per track
    no_parallels: bool = False  # a sampling rule (`--no-parallels`), not a setting of the tokens
    key: int | None = None  # a sampling rule (`--key`): the `Key_k` the header must state
    max_repeat: int = 0  # a sampling rule (`--max-repeat`): notes of one pitch in a row, per voice
    end_on_tonic: bool = False  # a sampling rule (`--end-on-tonic`, with `key`)
    name: str = "notes"
    keeps_tracks = True  # prepare must not merge the tracks: the tokens name them
    streams = 1
    end_token = END

    def __post_init__(self) -> None:
        object.__setattr__(self, "monophonic_tracks", tuple(sorted(self.monophonic_tracks)))
        object.__setattr__(self, "track_ranges", tuple(tuple(r) for r in self.track_ranges))
        if not 0 <= self.velocity_bins <= MAX_VELOCITY_BINS:
            raise CadenzaError(
                f"velocity_bins must be in 0..{MAX_VELOCITY_BINS}, got {self.velocity_bins}"
            )

    def settings(self) -> dict:
        """The encoding settings, stored with the vocabulary."""
        return {"velocity_bins": self.velocity_bins}

    def vocabulary_tokens(self) -> list[str]:
        """Every token these settings can produce, in a fixed order (ids are positions)."""
        return list(_vocabulary(self.velocity_bins).tokens)

    def token_pitches(self, token: str) -> list[int]:
        """The MIDI pitch a token sounds ([] for all but `Pitch_p`)."""
        return token_pitches(token)

    def transposition_table(self, tokens: Sequence[str], shift: int) -> np.ndarray:
        """For each id of vocabulary `tokens`, its id after transposing by `shift` semitones
        (-1 where a pitch leaves 0..127); see the module function."""
        return transposition_table(tokens, shift)

    def opening_tokens(self) -> list[str]:
        """What every piece opens with."""
        return [START]

    fill_in_the_middle_tokens = FIM_TOKENS  # prefix, suffix, middle sentinels
    fill_in_the_middle_bars_tokens = FIM_BARS_TOKENS  # the middle's bar count, 1..16+

    def boundary_tokens(self, tokens: Sequence[str]) -> np.ndarray:
        """(V,) bool over vocabulary `tokens`: the tokens that open a bar, where a training
        window may be cut for fill-in-the-middle."""
        return np.array([t == BAR or t.startswith("Bar_") for t in tokens], dtype=bool)

    def primer_tokens(self, tokens: list[str]) -> list[str]:
        """An encoded score as a primer: all of it but the closing END."""
        return tokens[:-1] if tokens and tokens[-1] == END else list(tokens)

    def nearest_token(self, token: str, known: Sequence[str]) -> str | None:
        """The known token closest to `token`: the same family ("Pitch", "Dur", ...) with
        the nearest number; None when `known` has none of its family (a key, for a run
        trained before keys): such a token is left out."""
        family, _, number = token.rpartition("_")
        candidates = [t for t in known if t.rpartition("_")[0] == family]
        if not candidates:
            return None
        if not number.isdigit():
            return candidates[0]
        wanted = int(number)

        def distance(candidate: str) -> tuple[int, str]:
            value = candidate.rpartition("_")[2]
            return (abs(int(value) - wanted) if value.isdigit() else 1 << 30, candidate)

        return min(candidates, key=distance)

    def quantize(self, score: Score) -> Score:
        """The score as the tokens hold it: exactly what `decode(encode(score))` gives."""
        return quantize(score, self.velocity_bins, self.velocity)

    def encode(self, score: Score) -> list[str]:
        """Score -> tokens; [] for a score with no notes."""
        return self.encode_with_statistics(score)[0]

    def encode_with_statistics(self, score: Score) -> tuple[list[str], Counter[str]]:
        """Score -> (tokens, what quantizing changed: meters snapped, durations clipped,
        duplicate notes dropped), for the corpus report."""
        piece = quantize_piece(score, self.velocity_bins)
        if piece is None:
            return [], Counter()
        ids = _token_ids(piece, self.velocity_bins, key_value(score))
        return _vocabulary(self.velocity_bins).array[ids].tolist(), piece.statistics

    def decode(self, tokens: Sequence[str], bpm: float = DEFAULT_TEMPO_BPM) -> Score:
        """Tokens -> score; stops at END and ignores an unfinished trailing note, so that a
        generated sequence cut short still decodes. `bpm` is the tempo when none is given."""
        table = _vocabulary(self.velocity_bins).table
        decoder = _Decoder(self.velocity_bins, self.velocity)
        for token in tokens:
            entry = table.get(token)
            if entry is None:
                raise CadenzaError(f"token {token!r} is not a notes token")
            if entry[0] == _END:
                break
            decoder.push(*entry)
        return decoder.score(bpm)

    def grammar(self, tokens: Sequence[str]):
        """The sampling grammar over vocabulary `tokens` (representations/notes_grammar.py)."""
        from cadenza.representations.notes_grammar import NotesGrammar

        return NotesGrammar(
            tokens, self.monophonic_tracks, self.no_parallels, self.key,
            self.max_repeat, self.end_on_tonic,
        )  # fmt: skip

    def corpus_facts(self, pieces: Iterable[Sequence[str]]) -> dict:
        """What the training pieces show that sampling needs: the monophonic tracks, and
        each track's lowest and highest pitch (before transposition)."""
        from cadenza.representations.notes_grammar import monophonic_tracks

        scores = [self.decode(p) for p in pieces]
        ranges: dict[int, list[int]] = {}
        for score in scores:
            for number, track in enumerate(score.tracks):
                if len(track):
                    low, high = ranges.get(number, [127, 0])
                    low, high = (
                        min(low, int(track.pitches.min())),
                        max(high, int(track.pitches.max())),
                    )
                    ranges[number] = [low, high]
        return {
            "monophonic_tracks": monophonic_tracks(scores),
            "track_ranges": [ranges.get(n, [0, 127]) for n in range(max(ranges, default=-1) + 1)],
        }


def quantize(score: Score, velocity_bins: int = 0, velocity: int = DEFAULT_VELOCITY) -> Score:
    """The score on the token grid: what `decode(encode(score))` gives back, built directly."""
    piece = quantize_piece(score, velocity_bins)
    if piece is None:
        return Score(tempos=[TempoChange(0.0, DEFAULT_TEMPO_BPM)])
    tracks = []
    for number, program in enumerate(piece.programs):
        mine = piece.tracks == number
        velocities = (
            velocity_value(piece.velocity_bins[mine], velocity_bins)
            if velocity_bins
            else np.full(int(mine.sum()), velocity)
        )
        tracks.append(
            Track(
                name=f"Track {number + 1}",
                program=max(program, 0),
                is_drum=program < 0,
                onsets=piece.onsets[mine] / TICKS_PER_QUARTER,
                durations=piece.durations[mine] / TICKS_PER_QUARTER,
                pitches=piece.pitches[mine],
                velocities=velocities,
            )
        )
    return Score(
        tracks=tracks,
        tempos=[
            TempoChange(tick / TICKS_PER_QUARTER, float(TEMPO_BINS[b]))
            for tick, b in piece.tempo_changes()
        ],
        time_signatures=[
            TimeSignature(tick / TICKS_PER_QUARTER, *METERS[m]) for tick, m in piece.meter_changes()
        ],
        pickup=piece.pickup / TICKS_PER_QUARTER,
        key_signatures=[] if key_value(score) is None else [key_signature(key_value(score))],
    )


def key_value(score: Score) -> int | None:
    """The number of the `Key_k` token for the score's first key signature, if it has one."""
    if not score.key_signatures:
        return None
    key = score.key_signatures[0]
    return key.tonic_pitch_class + (12 if key.minor else 0)


def key_signature(value: int) -> KeySignature:
    """The key signature (at time 0) that `Key_<value>` stands for."""
    return key_from_tonic(value % 12, value >= 12)


def _token_ids(piece: QuantizedPiece, velocity_bins: int, key: int | None) -> np.ndarray:
    """The ids of a quantized piece's tokens: every bar, position, tempo and note is one
    row of up to four ids, and one sort by (tick, kind, track, pitch) puts them in order."""
    base = _vocabulary(velocity_bins).base
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


class _Decoder:
    """Reads tokens one at a time and collects notes, tempos and meters (ticks are
    twelfths from the first bar's start; time 0 is the first bar's first position)."""

    def __init__(self, velocity_bins: int, velocity: int) -> None:
        self.velocity_bins, self.velocity = velocity_bins, velocity
        self.programs: dict[int, int] = {}
        self.header = True
        self.bar_start, self.bar_length, self.bars = 0, 0, 0
        self.meter = DEFAULT_METER
        self.meters: list[tuple[int, int]] = []
        self.initial_tempo: int | None = None
        self.key: int | None = None
        self.tempos: list[tuple[int, int]] = []
        self.origin: int | None = None
        self.position: int | None = None
        self.track: int | None = None
        self.pitch: int | None = None
        self.velocity_bin: int | None = None
        self.notes: list[tuple[int, int, int, int, int]] = []  # track, tick, pitch, vel, length

    def push(self, kind: int, value: int) -> None:
        if kind == _TRACK:
            self.track, self.pitch, self.velocity_bin = value, None, None
        elif kind == _PITCH:
            self.pitch = value
        elif kind == _VEL:
            self.velocity_bin = value
        elif kind == _DUR:
            if None not in (self.pitch, self.track, self.position):
                velocity_bin = -1 if self.velocity_bin is None else self.velocity_bin
                self.notes.append((self.track, self.position, self.pitch, velocity_bin, value))
            self.pitch = self.velocity_bin = None
        elif kind == _POS:
            if not self.bars:
                self._bar(-1)
            self.position = self.bar_start + value
            if self.bars == 1 and self.origin is None:
                self.origin = value
        elif kind == _BAR:
            self._bar(value)
        elif kind == _TEMPO:
            if self.header:
                self.initial_tempo = value
            else:
                self.tempos.append(
                    (self.bar_start if self.position is None else self.position, value)
                )
        elif kind == _PROGRAM and self.header and self.track is not None:
            self.programs[self.track] = value
        elif kind == _KEY and self.header:
            self.key = value

    def _bar(self, meter: int) -> None:
        if self.bars:
            self.bar_start += self.bar_length
        self.header, self.position, self.track, self.pitch = False, None, None, None
        if meter >= 0 and (meter != self.meter or not self.bars):
            self.meter = meter
            self.meters.append((self.bar_start, meter))
        elif not self.bars:
            self.meters.append((0, self.meter))
        self.bar_length = bar_length(METERS[self.meter])
        self.bars += 1

    def score(self, bpm: float) -> Score:
        origin = self.origin or 0
        first_bar = bar_length(METERS[self.meters[0][1]]) if self.meters else 0
        used = max((note[0] for note in self.notes), default=-1)
        count = max(len(self.programs) and max(self.programs) + 1, used + 1)
        columns = np.array(self.notes, np.int64).reshape(-1, 5)
        tracks = []
        for number in range(count):
            mine = columns[columns[:, 0] == number]
            program = self.programs.get(number, 0)
            velocities = np.full(len(mine), self.velocity)
            if self.velocity_bins:
                given = mine[:, 3] >= 0
                velocities[given] = velocity_value(mine[given, 3], self.velocity_bins)
            tracks.append(
                Track(
                    name=f"Track {number + 1}",
                    program=max(program, 0),
                    is_drum=program < 0,
                    onsets=np.maximum(mine[:, 1] - origin, 0) / TICKS_PER_QUARTER,
                    durations=mine[:, 4] / TICKS_PER_QUARTER,
                    pitches=mine[:, 2],
                    velocities=velocities,
                )
            )
        first = float(TEMPO_BINS[self.initial_tempo]) if self.initial_tempo is not None else bpm
        tempos = [TempoChange(0.0, first)]
        for tick, value in self.tempos:
            onset, tempo = max(tick - origin, 0) / TICKS_PER_QUARTER, float(TEMPO_BINS[value])
            if tempos[-1].onset == onset:
                tempos.pop()
            if not tempos or tempos[-1].bpm != tempo:
                tempos.append(TempoChange(onset, tempo))
        return Score(
            tracks=tracks,
            tempos=tempos,
            time_signatures=[
                TimeSignature(max(tick - origin, 0) / TICKS_PER_QUARTER, *METERS[meter])
                for tick, meter in self.meters
            ],
            pickup=(first_bar - origin) / TICKS_PER_QUARTER if origin else 0.0,
            key_signatures=[] if self.key is None else [key_signature(self.key)],
        )
