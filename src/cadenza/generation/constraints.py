"""Musical constraints on sampling: masks over the logits, never edits of the output.

A scale (`--key` + `--scale`) and a pitch range rule out tokens once per vocabulary: a token
is allowed when every pitch it sounds is in the scale and in the range (a chord token is
judged by all of its pitch classes, and by the pitches it is decoded to, voiced from C4);
tokens that sound nothing (`rest`, START, END) are always allowed. `--max-repeat`,
`--no-repeat-ngram` and `--end-on-tonic` depend on what came before and are applied at each
step. When the constraints leave no token, generation stops with a `CadenzaError` that names
the constraint and the step; a scale and range that leave only tokens sounding nothing are
refused before the first step, since the piece would be silent.

"Finishing on the tonic": the last event sounds the key's tonic and nothing outside the
tonic triad (major triad for the major scales, minor triad for the minor ones): a lone tonic
note, an octave of it, tonic + fifth, or the full triad. For chord tokens the last generated
token must be such a token. For pitch-duration events END may only follow such an event,
and the event at the length limit must be one; a rest is never a tonic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import torch

from cadenza.errors import CadenzaError
from cadenza.music.scales import MAJOR_TRIAD, MINOR_TRIAD, SCALES, scale_pitch_classes
from cadenza.music.score import KeySignature
from cadenza.representations.base import Representation
from cadenza.representations.pitch_names import PITCH_CLASS_NAMES, pitch_name

END = "END"


def parse_pitch(text: str) -> int:
    """A MIDI number ("48") or a pitch name ("C3", "F#4", "Bb2") -> MIDI pitch."""
    from cadenza.representations.pitch_names import parse_pitch_name

    text = text.strip()
    try:
        pitch = int(text) if text.lstrip("-").isdigit() else parse_pitch_name(text)
    except ValueError:
        raise CadenzaError(
            f"not a pitch: {text!r} (a MIDI number 0..127 or a name like C3)"
        ) from None
    if not 0 <= pitch <= 127:
        raise CadenzaError(f"pitch {text!r} is outside the MIDI range 0..127")
    return pitch


@dataclass(frozen=True)
class Constraints:
    """What generation must respect; the defaults constrain nothing (0 switches a count off)."""

    key: KeySignature | None = None
    key_name: str = ""  # the key as the user wrote it, for messages
    scale: str | None = None
    pitch_range: tuple[int, int] | None = None
    max_repeat: int = 0
    no_repeat_ngram: int = 0
    end_on_tonic: bool = False
    no_parallels: bool = False  # applied by the grammar of representations with voices (notes)

    def __post_init__(self) -> None:
        if self.scale is not None and self.scale not in SCALES:
            raise CadenzaError(f"unknown --scale {self.scale!r} (known: {', '.join(SCALES)})")
        if (self.scale or self.end_on_tonic) and self.key is None:
            raise CadenzaError("--scale and --end-on-tonic need --key (the tonic), e.g. --key C")
        if self.pitch_range is not None and not 0 <= self.pitch_range[0] <= self.pitch_range[1]:
            raise CadenzaError(f"--pitch-range LOW HIGH needs LOW <= HIGH, got {self.pitch_range}")
        if self.max_repeat < 0 or self.no_repeat_ngram < 0:
            raise CadenzaError(
                f"--max-repeat and --no-repeat-ngram must be 1 or more, got "
                f"{self.max_repeat} and {self.no_repeat_ngram}"
            )

    @property
    def active(self) -> bool:
        """Whether anything is constrained at all."""
        return bool(
            self.scale or self.pitch_range or self.max_repeat or self.no_repeat_ngram
            or self.end_on_tonic
        )  # fmt: skip

    @property
    def tonic(self) -> int:
        """Pitch class of the key's tonic."""
        return self.key.tonic_pitch_class if self.key else 0

    def scale_classes(self) -> frozenset[int] | None:
        """Pitch classes of the scale, or None when no scale is asked for."""
        if self.scale is None:
            return None
        return scale_pitch_classes(self.tonic, self.scale)

    def tonic_classes(self) -> frozenset[int]:
        """Pitch classes of the tonic triad (minor for minor scales or a minor key)."""
        minor = "minor" in self.scale if self.scale else bool(self.key and self.key.minor)
        triad = MINOR_TRIAD if minor else MAJOR_TRIAD
        return frozenset((self.tonic + step) % 12 for step in triad)

    def sounding_pitches(self, pitches: Sequence[int]) -> list[bool]:
        """For each MIDI pitch, whether the scale and the range let it sound (for models that
        mask pitches, not tokens); refused in one sentence when they let none sound."""
        scale, (low, high) = self.scale_classes(), self.pitch_range or (0, 127)
        allowed = [(scale is None or p % 12 in scale) and low <= p <= high for p in pitches]
        if not any(allowed):
            raise CadenzaError(silence_message(self.names()))
        return allowed

    def names(self) -> dict[str, str]:
        """Each active constraint as the flags that asked for it."""
        mode = " minor" if self.key and self.key.minor else ""
        key = f"--key {self.key_name or PITCH_CLASS_NAMES[self.tonic] + mode}"
        names = {}
        if self.scale:
            names["scale"] = f"{key} --scale {self.scale}"
        if self.pitch_range:
            low, high = self.pitch_range
            names["range"] = f"--pitch-range {pitch_name(low)} {pitch_name(high)}"
        if self.max_repeat:
            names["repeat"] = f"--max-repeat {self.max_repeat}"
        if self.no_repeat_ngram:
            names["ngram"] = f"--no-repeat-ngram {self.no_repeat_ngram}"
        if self.end_on_tonic:
            names["tonic"] = f"--end-on-tonic ({key})"
        return names


def silence_message(names: dict[str, str]) -> str:
    """ "the constraint --pitch-range C8 C8 together with --key C --scale major leaves no
    pitch to play (only rests)", from `Constraints.names()`."""
    applied = [names[name] for name in ("scale", "range") if name in names]
    together = f" together with {' and '.join(applied[:-1])}" if len(applied) > 1 else ""
    return f"the constraint {applied[-1]}{together} leaves no pitch to play (only rests)"


@dataclass(frozen=True)
class TokenMasks:
    """Per-token masks of one stream of pitch-like tokens, computed once per vocabulary."""

    in_scale: torch.Tensor  # (V,) bool
    in_range: torch.Tensor  # (V,) bool
    tonic: torch.Tensor  # (V,) bool: the token finishes on the tonic
    end: int | None  # the id of END in this stream, if it has one
    sounds: torch.Tensor  # (V,) bool: the token sounds at least one pitch


def _pitches_of(representation: Representation | str):
    """The representation's `token_pitches` (a name is looked up in the registry)."""
    if isinstance(representation, str):
        from cadenza.representations import REPRESENTATIONS, get_representation

        if representation in REPRESENTATIONS:
            representation = get_representation(representation)
    if not hasattr(representation, "token_pitches"):
        name = getattr(representation, "name", representation)
        raise CadenzaError(f"constraints do not know the {name!r} representation")
    return representation.token_pitches


@lru_cache(maxsize=16)
def token_masks(
    constraints: Constraints, representation: Representation | str, tokens: tuple[str, ...]
) -> TokenMasks:
    """The masks for a vocabulary (the pitch tokens of a pitch-duration one)."""
    pitches_of, scale = _pitches_of(representation), constraints.scale_classes()
    low, high = constraints.pitch_range or (0, 127)
    tonic_classes = constraints.tonic_classes()
    in_scale, in_range, tonic, sounds = [], [], [], []
    for token in tokens:
        pitches = pitches_of(token)
        sounds.append(bool(pitches))
        classes = {pitch % 12 for pitch in pitches}
        in_scale.append(scale is None or classes <= scale)
        in_range.append(all(low <= pitch <= high for pitch in pitches))
        tonic.append(bool(pitches) and constraints.tonic in classes and classes <= tonic_classes)
    end = tokens.index(END) if END in tokens else None  # the one token name all share
    in_scale, in_range, tonic, sounds = (
        torch.tensor(mask, dtype=torch.bool) for mask in (in_scale, in_range, tonic, sounds)
    )
    return TokenMasks(in_scale, in_range, tonic, end, sounds)


class Steering:
    """The constraints during one generation: the steps so far and the masks they imply.

    A step is a tuple of stream ids: (token,) for one-stream models, (pitch, duration) for
    two-stream ones. `first_allowed` masks the first stream (tokens or pitches); for
    two-stream models `second_allowed` then masks the durations that would repeat an n-gram.
    """

    def __init__(
        self,
        constraints: Constraints,
        masks: TokenMasks,
        length: int,
        history: Sequence[tuple[int, ...]] = (),
        second_size: int = 1,
        stop_at_end: bool = True,
    ) -> None:
        self.constraints, self.masks, self.length = constraints, masks, length
        self.second_size, self.stop_at_end = second_size, stop_at_end
        self.names = constraints.names()
        self.steps: list[tuple[int, ...]] = []
        # (n-1)-step prefix -> first id -> the second ids that followed it
        self.seen: dict[tuple, dict[int, set]] = defaultdict(lambda: defaultdict(set))
        self._check_playable()
        for step in history:
            self.push(step)

    def push(self, step: tuple[int, ...]) -> None:
        """Record a chosen step."""
        self.steps.append(tuple(step))
        n = self.constraints.no_repeat_ngram
        if n and len(self.steps) >= n:
            prefix = tuple(self.steps[len(self.steps) - n : -1])
            self.seen[prefix][step[0]].add(step[1] if len(step) > 1 else None)

    def _check_playable(self) -> None:
        """Refuse a scale and range that leave only tokens sounding nothing (rest, START,
        END): every step would still have a token, and the piece would be silent."""
        applied = [name for name in ("scale", "range") if name in self.names]
        kept = self.masks.in_scale & self.masks.in_range
        if applied and kept.any() and not (kept & self.masks.sounds).any():
            raise CadenzaError(silence_message(self.names))

    def _check(self, allowed: torch.Tensor, name: str, applied: list[str], step: int) -> None:
        if not bool(allowed.any()):
            others = [self.names[n] for n in applied if n != name]
            together = f" together with {' and '.join(others)}" if others else ""
            raise CadenzaError(
                f"the constraint {self.names[name]}{together} leaves no token to choose at "
                f"generated step {step + 1}"
            )
        applied.append(name)

    def first_allowed(self, step: int) -> torch.Tensor:
        """(V,) bool: the tokens (pitches) that generated step `step` (from 0) may take."""
        allowed, applied = torch.ones_like(self.masks.in_scale), []
        for name, mask in (("scale", self.masks.in_scale), ("range", self.masks.in_range)):
            if name in self.names:
                allowed = allowed & mask
                self._check(allowed, name, applied, step)
        if "repeat" in self.names:
            allowed = self._without_repeat(allowed)
            self._check(allowed, "repeat", applied, step)
        if "ngram" in self.names:
            allowed = self._without_ngram_repeats(allowed)
            self._check(allowed, "ngram", applied, step)
        if "tonic" in self.names:
            allowed = self._finishing_on_tonic(allowed, step)
            self._check(allowed, "tonic", applied, step)
        return allowed

    def second_allowed(self, first: int) -> torch.Tensor | None:
        """(Vd,) bool: the durations that would not repeat an n-gram after pitch `first`."""
        n = self.constraints.no_repeat_ngram
        if not n or self.second_size == 1:
            return None
        allowed = torch.ones(self.second_size, dtype=torch.bool)
        banned = self.seen.get(self._prefix(), {}).get(first, set())
        allowed[list(banned)] = False
        return allowed  # never empty: `first_allowed` kept only pitches with a duration left

    def _prefix(self) -> tuple:
        n = self.constraints.no_repeat_ngram
        return tuple(self.steps[len(self.steps) - n + 1 :]) if n > 1 else ()

    def _without_repeat(self, allowed: torch.Tensor) -> torch.Tensor:
        limit = self.constraints.max_repeat
        last = [step[0] for step in self.steps[-limit:]]
        if len(last) == limit and len(set(last)) == 1 and last[0] != self.masks.end:
            allowed = allowed.clone()
            allowed[last[0]] = False
        return allowed

    def _without_ngram_repeats(self, allowed: torch.Tensor) -> torch.Tensor:
        if len(self.steps) < self.constraints.no_repeat_ngram - 1:
            return allowed
        followers = self.seen.get(self._prefix(), {})
        full = [first for first, seconds in followers.items() if len(seconds) >= self.second_size]
        if not full:
            return allowed
        allowed = allowed.clone()
        allowed[full] = False
        return allowed

    def _finishing_on_tonic(self, allowed: torch.Tensor, step: int) -> torch.Tensor:
        end, tonic = self.masks.end, self.masks.tonic
        previous_is_tonic = bool(self.steps) and bool(tonic[self.steps[-1][0]])
        ending = tonic.clone()
        if end is not None:
            ending[end] = self.stop_at_end and previous_is_tonic
            if not previous_is_tonic:
                allowed = allowed.clone()
                allowed[end] = False
        return allowed & ending if step == self.length - 1 else allowed


def grammar_options(bundle, constraints: Constraints | None) -> dict:
    """The rules of `constraints` that the run's sampling grammar applies (--no-parallels;
    --key, stated by representations with a key token; --max-repeat and --end-on-tonic, in
    notes rather than tokens); one sentence when the run's representation has no rule for
    --no-parallels."""
    wanted = constraints and (constraints.no_parallels or constraints.key or constraints.max_repeat)
    if not wanted:
        return {}
    from dataclasses import fields

    representation = bundle.representation()
    options = {f.name for f in fields(type(representation))}
    if constraints.no_parallels and "no_parallels" not in options:
        raise CadenzaError(
            f"--no-parallels needs a model whose voices are kept apart (notes), not "
            f"{representation.name!r}"
        )
    chosen = {"no_parallels": True} if constraints.no_parallels else {}
    if constraints.key is not None and "key" in options:
        key = constraints.key
        chosen["key"] = key.tonic_pitch_class + (12 if key.minor else 0)
    for rule in ("max_repeat", "end_on_tonic"):
        if getattr(constraints, rule) and rule in options:
            chosen[rule] = getattr(constraints, rule)
    return chosen


def left_to_steering(constraints: Constraints | None, grammar_rules: dict) -> Constraints | None:
    """`constraints` without the rules that the grammar applies instead (`grammar_options`)."""
    if constraints is None:
        return None
    taken = {rule: False if rule == "end_on_tonic" else 0 for rule in grammar_rules}
    taken.pop("key", None)  # the scale still masks pitches by the key
    taken.pop("no_parallels", None)
    return replace(constraints, **taken) if taken else constraints


def steering_for(
    constraints: Constraints | None,
    representation: Representation,
    tokens: Sequence[str],
    length: int,
    history: Sequence[tuple[int, ...]] = (),
    second_size: int = 1,
    stop_at_end: bool = True,
) -> Steering | None:
    """A `Steering` for one generation, or None when nothing is constrained."""
    if constraints is None or not constraints.active:
        return None
    masks = token_masks(constraints, representation, tuple(tokens))
    return Steering(constraints, masks, length, history, second_size, stop_at_end)
