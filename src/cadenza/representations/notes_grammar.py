"""The syntax of `notes` token sequences, as a mask over the vocabulary at every step.

Sampling asks `NotesGrammar.allowed()` before each token and `push`es the token it drew, so
that every generated sequence decodes to a well-formed score:

- START, then the header: `Track_0 Program_p`, `Track_1 Program_p`, ... (tracks numbered in
  order), an optional `Tempo`, an optional `Key` (the one asked for, when `key` is given),
  then the first bar, which names its meter (`Bar_3/4`);
- after a bar token: a position inside the bar, another bar (an empty bar) or END; the
  first bar must hold a position (it fixes where the piece starts);
- positions rise within a bar; after a position an optional tempo, then notes;
- a note is `Track_i` (a track of the header), `Pitch_p`, `Vel_b` when the vocabulary has
  velocities, `Dur_k`; at one position tracks do not go down, and within a track pitches
  rise;
- a monophonic track (a voice that sings one note at a time, as the training data shows)
  never starts a note while its previous note still sounds, nor two notes at one position;
- a track given a range (`track_ranges`: lowest and highest pitch per track, the compass
  the voice had in training) sings only pitches inside it;
- a position is offered only where some track can start a note, so no choice leads to a
  dead end: a bar token is always open between notes (END too, but for the rules below);
- sampling rules, when asked: no more than `max_repeat` notes of one pitch in a row in a
  track (`--max-repeat`); END only once the piece has `fewest_bars` bars (a fact of the
  training data: its shortest piece), and only after the tonic chord of `key`
  (`--end-on-tonic`: every track's latest pitch in the tonic triad, the lowest on the
  tonic), so a piece that never reaches it runs to the length limit. Where `--no-parallels`
  and `--max-repeat` would leave no pitch inside a track's range, the range wins over them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.representations.notes_quantize import METERS, bar_length

_HEADER, _PROGRAM, _AFTER_PROGRAM, _AFTER_HEADER_TEMPO, _AFTER_KEY = (
    "header", "expect-program", "after-program", "header-tempo", "header-key",
)  # fmt: skip
HEADER_STATES = (_HEADER, _PROGRAM, _AFTER_PROGRAM, _AFTER_HEADER_TEMPO, _AFTER_KEY)
_BAR, _POSITION, _TEMPO, _TRACK, _PITCH, _VELOCITY, _NOTE, _ENDED = (
    "bar", "position", "tempo", "track", "pitch", "velocity", "note", "ended",
)  # fmt: skip


class _Families:
    """The ids of each token family in one vocabulary, with the number each token carries."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self.size = len(tokens)
        self.ids: dict[str, dict[int, int]] = {}
        self.special: dict[str, int] = {}
        self.kind: list[tuple[str, int]] = []
        self._masks: dict[tuple, np.ndarray] = {}  # (family, values) -> mask, built once
        meters = {f"Bar_{n}/{d}": i for i, (n, d) in enumerate(METERS)}
        for index, token in enumerate(tokens):
            if token in meters:
                family, value = "Meter", meters[token]
            elif token in ("START", "END", "Bar"):
                family, value = token, 0
            elif token.startswith("FIM_"):
                family, value = "FIM", len(self.ids.get("FIM", {}))
            elif token == "Program_drum":
                family, value = "Program", -1
            else:
                family, _, number = token.partition("_")
                if not number.lstrip("-").isdigit():
                    raise CadenzaError(f"not a notes token: {token!r}")
                value = int(number)
            self.ids.setdefault(family, {})[value] = index
            self.kind.append((family, value))

    def mask(self, family: str, values: Iterable[int] | None = None) -> np.ndarray:
        """A mask with the family's tokens (those carrying `values`, if given) set: a new
        array, which the caller may change."""
        key = (family, None if values is None else tuple(values))
        cached = self._masks.get(key)
        if cached is None:  # sampling asks the same few masks again at every step
            cached = np.zeros(self.size, dtype=bool)
            members = self.ids.get(family, {})
            if values is None:
                chosen = list(members.values())
            else:
                chosen = [members[v] for v in key[1] if v in members]
            cached[chosen] = True
            self._masks[key] = cached
        return cached.copy()

    def id_of(self, family: str, value: int = 0) -> int | None:
        return self.ids.get(family, {}).get(value)


class NotesGrammar:
    """What may follow a `notes` sequence so far; see the module docstring for the rules."""

    def __init__(
        self,
        tokens: Sequence[str],
        monophonic_tracks: Iterable[int] = (),
        no_parallels: bool = False,
        key: int | None = None,
        max_repeat: int = 0,
        end_on_tonic: bool = False,
        track_ranges: Sequence[Sequence[int]] = (),
        fewest_bars: int = 0,
    ) -> None:
        self.no_parallels, self.key = no_parallels, key
        self.fewest_bars = fewest_bars
        # track -> (lowest, highest) pitch it may sing; tracks without one: all of 0..127
        self.ranges = {n: (int(low), int(high)) for n, (low, high) in enumerate(track_ranges)}
        for track, (low, high) in self.ranges.items():
            if not 0 <= low <= high <= 127:
                raise CadenzaError(f"track {track}'s range {low}..{high} is not within 0..127")
        self.max_repeat, self.end_on_tonic = max_repeat, end_on_tonic and key is not None
        self.families = _Families(tokens)
        self.monophonic = frozenset(int(t) for t in monophonic_tracks)
        self.durations = sorted(self.families.ids.get("Dur", {}))
        self.has_velocity = bool(self.families.ids.get("Vel"))
        self.positions = sorted(self.families.ids.get("Pos", {}))
        self._new_piece()

    def _new_piece(self) -> None:
        """Forget the piece so far (the vocabulary's tables stay)."""
        self.repeats: dict[int, tuple[int, int]] = {}  # track -> (latest pitch, notes in a row)
        self.previous: dict[int, int] = {}  # track -> pitch of its latest note before here
        self.state = "start"
        self.tracks = 0  # tracks declared in the header
        self.bar_length = 0  # in twelfths, of the current bar
        self.bar_start = 0  # the current bar's start, in twelfths from the first bar's
        self.position = -1  # the latest position in the current bar
        self.bars = 0
        self.track = -1  # the current note's track, and the last pitch of each track here
        self.pitch_here: dict[int, int] = {}
        self.sounding_until: dict[int, int] = {}  # track -> when its latest note ends

    # what may come next ----------------------------------------------------------------

    def allowed(self) -> np.ndarray:
        """(V,) bool: the ids that may come next; never empty."""
        f = self.families
        state = self.state
        if state == "start":
            return f.mask("START")
        if state == _HEADER:
            return f.mask("Track", [self.tracks])
        if state == _AFTER_PROGRAM:
            return f.mask("Track", [self.tracks]) | f.mask("Tempo") | self._key_or_meter()
        if state == _AFTER_HEADER_TEMPO:
            return self._key_or_meter()
        if state == _AFTER_KEY:
            return f.mask("Meter")
        if state == _PROGRAM:
            return f.mask("Program")
        if state == _BAR:
            mask = self._open_positions()
            if self.bars > 1 or not mask.any():
                mask |= self._bar_or_end()
            return mask
        if state == _POSITION:
            return f.mask("Tempo") | self._open_tracks()
        if state == _TEMPO:
            return self._open_tracks() | self._open_positions() | self._bar_or_end()
        if state == _TRACK:
            return self._open_pitches()
        if state == _PITCH:
            return f.mask("Vel") if self.has_velocity else f.mask("Dur")
        if state == _VELOCITY:
            return f.mask("Dur")
        if state == _NOTE:
            return self._open_tracks() | self._open_positions() | self._bar_or_end()
        return f.mask("END")  # ended: only END again (generation stops there)

    def _key_or_meter(self) -> np.ndarray:
        if self.key is not None and self.families.id_of("Key", self.key) is not None:
            return self.families.mask("Key", [self.key])  # the key asked for, stated
        return self.families.mask("Key") | self.families.mask("Meter")

    def _bar_or_end(self) -> np.ndarray:
        mask = self.families.mask("Bar") | self.families.mask("Meter")
        return mask | self.families.mask("END") if self._may_end() else mask

    def _may_end(self) -> bool:
        """END is open once the piece has its fewest bars, unless --end-on-tonic waits for
        the tonic chord."""
        if self.bars < self.fewest_bars:
            return False
        if not self.end_on_tonic:
            return True
        latest = {**self.previous, **self.pitch_here}  # each track's latest pitch
        if not latest:
            return False
        tonic = self.key % 12
        triad = {tonic, (tonic + (3 if self.key >= 12 else 4)) % 12, (tonic + 7) % 12}
        return {p % 12 for p in latest.values()} <= triad and min(latest.values()) % 12 == tonic

    def _free(self, track: int, time: int) -> bool:
        return track not in self.monophonic or self.sounding_until.get(track, -1) <= time

    def _open_positions(self) -> np.ndarray:
        later = [k for k in self.positions if self.position < k < self.bar_length]
        now = self.bar_start
        usable = [k for k in later if any(self._free(t, now + k) for t in range(self.tracks))]
        return self.families.mask("Pos", usable)

    def _open_tracks(self) -> np.ndarray:
        time = self.bar_start + self.position
        open_tracks = []
        for track in range(max(self.track, 0), self.tracks):
            if track in self.monophonic and track in self.pitch_here:
                continue  # one note at a time: not a second one here
            if not self._free(track, time):
                continue
            if self.pitch_here.get(track, -1) >= self._range(track)[1]:
                continue  # no higher pitch left in its range
            open_tracks.append(track)
        return self.families.mask("Track", open_tracks)

    def _range(self, track: int) -> tuple[int, int]:
        return self.ranges.get(track, (0, 127))

    def _open_pitches(self) -> np.ndarray:
        low, high = self._range(self.track)
        lowest = max(low, self.pitch_here.get(self.track, -1) + 1)
        banned = self._parallel_pitches() if self.no_parallels else set()
        pitch, run = self.repeats.get(self.track, (-1, 0))
        if self.max_repeat and run >= self.max_repeat:
            banned.add(pitch)
        pitches = [p for p in range(lowest, high + 1) if p not in banned]
        if not pitches:  # the rules left nothing in the range: the range wins
            pitches = list(range(lowest, high + 1))
        return self.families.mask("Pitch", pitches)

    def _parallel_pitches(self) -> set[int]:
        """Pitches that would move this track in parallel fifths or octaves (unisons and
        compound intervals too) with a track that moved to a new note at this position."""
        mine = self.previous.get(self.track)
        if mine is None:
            return set()
        banned = set()
        for other, now in self.pitch_here.items():
            before = self.previous.get(other)
            if other == self.track or before is None or now == before:
                continue  # that voice held or repeated its note: oblique motion
            interval = (before - mine) % 12
            if interval not in (0, 7):
                continue
            rising = now > before
            for pitch in range(128):
                moves_alike = pitch != mine and (pitch > mine) == rising
                if moves_alike and (now - pitch) % 12 == interval:
                    banned.add(pitch)
        return banned

    # recording a token -------------------------------------------------------------------

    def push(self, token: int) -> None:
        """Record the next token (an id of the vocabulary the grammar was built on)."""
        family, value = self.families.kind[int(token)]
        if self.state == "start" and family != "START":
            self._join_midway()
        handler = getattr(self, f"_push_{family.lower()}", None)
        if handler is None:
            raise CadenzaError(f"the notes grammar has no rule for {family!r} tokens")
        handler(value)

    def _join_midway(self) -> None:
        """A primer that begins inside a piece (a training window): every track may play and
        bars are 4/4 until a bar token names the meter."""
        self.tracks, self.bars, self.bar_length, self.position = 16, 1, 48, -1
        self.state = _BAR

    def _push_start(self, _value: int) -> None:
        self._new_piece()
        self.state = _HEADER

    def _push_fim(self, _value: int) -> None:
        """Fill-in-the-middle sentinels: the grammar follows the piece, not the layout."""

    def _push_end(self, _value: int) -> None:
        self.state = _ENDED

    def _push_track(self, value: int) -> None:
        if self.state in (_HEADER, _AFTER_PROGRAM) and self.bars == 0:
            self.tracks = max(self.tracks, value + 1)
            self.state = _PROGRAM
            return
        if value != self.track:
            self.track = value
        self.state = _TRACK

    def _push_program(self, _value: int) -> None:
        self.state = _AFTER_PROGRAM

    def _push_tempo(self, _value: int) -> None:
        self.state = _AFTER_HEADER_TEMPO if self.bars == 0 else _TEMPO

    def _push_key(self, _value: int) -> None:
        if self.bars == 0:  # a key inside the piece (not written by encode) changes nothing
            self.state = _AFTER_KEY

    def _push_meter(self, value: int) -> None:
        self._new_bar(bar_length(METERS[value]))

    def _push_bar(self, _value: int) -> None:
        self._new_bar(self.bar_length)

    def _new_bar(self, length: int) -> None:
        if self.bars:
            self.bar_start += self.bar_length
        self.bars += 1
        self.bar_length, self.position, self.state = length, -1, _BAR
        self._leave_position()

    def _push_pos(self, value: int) -> None:
        self.position, self.state = value, _POSITION
        self._leave_position()

    def _leave_position(self) -> None:
        self.previous.update(self.pitch_here)  # the notes here become each track's latest
        self.track, self.pitch_here = -1, {}

    def _push_pitch(self, value: int) -> None:
        self.pitch_here[self.track] = value
        pitch, run = self.repeats.get(self.track, (-1, 0))
        self.repeats[self.track] = (value, run + 1 if value == pitch else 1)
        self.state = _PITCH

    def _push_vel(self, _value: int) -> None:
        self.state = _VELOCITY

    def _push_dur(self, value: int) -> None:
        end = self.bar_start + self.position + value
        self.sounding_until[self.track] = max(self.sounding_until.get(self.track, -1), end)
        self.state = _NOTE


def monophonic_tracks(scores: Iterable, tolerance: float = 0.01) -> list[int]:
    """The track numbers whose notes (over all `scores`) overlap a previous note of the same
    track in at most `tolerance` of cases: voices that sing one note at a time."""
    overlaps: dict[int, list[int]] = {}
    for score in scores:
        for number, track in enumerate(score.tracks):
            if len(track) < 2:
                continue
            ends = np.maximum.accumulate(track.onsets + track.durations)
            overlapping = int(np.sum(track.onsets[1:] < ends[:-1] - 1e-9))
            counts = overlaps.setdefault(number, [0, 0])
            counts[0] += overlapping
            counts[1] += len(track) - 1
    return sorted(n for n, (bad, total) in overlaps.items() if bad <= tolerance * total)
