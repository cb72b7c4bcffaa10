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

The grid is in notes_quantize.py, the token tables and the encoder's ids in
notes_vocabulary.py, the decoder in notes_decode.py and the sampling grammar in
notes_grammar.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.music.score import (
    DEFAULT_TEMPO_BPM,
    DEFAULT_VELOCITY,
    Score,
    TempoChange,
    TimeSignature,
    Track,
)
from cadenza.representations.notes_decode import NotesDecoder
from cadenza.representations.notes_quantize import (
    METERS,
    TEMPO_BINS,
    TICKS_PER_QUARTER,
    quantize_piece,
    velocity_value,
)
from cadenza.representations.notes_vocabulary import (
    BAR,
    END,
    END_KIND,
    FIM_BARS_TOKENS,
    FIM_TOKENS,
    MAX_VELOCITY_BINS,
    START,
    key_signature,
    key_value,
    token_ids,
    token_pitches,
    transposition_table,
    vocabulary_tables,
)


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
    fewest_bars: int = 0  # also a fact: the shortest training piece's bars; END waits for them
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
        return list(vocabulary_tables(self.velocity_bins).tokens)

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
        ids = token_ids(piece, self.velocity_bins, key_value(score))
        return vocabulary_tables(self.velocity_bins).array[ids].tolist(), piece.statistics

    def decode(self, tokens: Sequence[str], bpm: float = DEFAULT_TEMPO_BPM) -> Score:
        """Tokens -> score; stops at END and ignores an unfinished trailing note, so that a
        generated sequence cut short still decodes. `bpm` is the tempo when none is given."""
        table = vocabulary_tables(self.velocity_bins).table
        decoder = NotesDecoder(self.velocity_bins, self.velocity)
        for token in tokens:
            entry = table.get(token)
            if entry is None:
                raise CadenzaError(f"token {token!r} is not a notes token")
            if entry[0] == END_KIND:
                break
            decoder.push(*entry)
        return decoder.score(bpm)

    def grammar(self, tokens: Sequence[str]):
        """The sampling grammar over vocabulary `tokens` (representations/notes_grammar.py)."""
        from cadenza.representations.notes_grammar import NotesGrammar

        return NotesGrammar(
            tokens, self.monophonic_tracks, self.no_parallels, self.key,
            self.max_repeat, self.end_on_tonic, fewest_bars=self.fewest_bars,
        )  # fmt: skip

    def corpus_facts(self, pieces: Iterable[Sequence[str]]) -> dict:
        """What the training pieces show that sampling needs: the monophonic tracks, each
        track's lowest and highest pitch (before transposition), and the fewest bars a piece
        has (so that a piece composed from nothing is not over after a bar or two)."""
        from cadenza.representations.notes_grammar import monophonic_tracks

        pieces = [list(p) for p in pieces]
        scores = [self.decode(p) for p in pieces]
        bars = [int(self.boundary_tokens(p).sum()) for p in pieces]
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
            "fewest_bars": min(bars, default=0),
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
