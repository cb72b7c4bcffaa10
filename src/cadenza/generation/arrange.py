"""Compose around given notes: harmonize a melody, rewrite voices, fill in bars (`notes` runs).

- `harmonize`: the melody is the first voice (soprano) of a piece with the model's number of
  voices; the model composes the others under it, the melody's notes forced at their places.
- `regenerate`: a piece's other voices are kept note for note and the chosen ones composed.
- `infill`: bars `first..last` of a piece are composed anew between the bars before and
  after them, from a model trained with fill-in-the-middle (training/data.py): it reads
  `FIM_Suffix suffix FIM_Prefix prefix FIM_Middle FIM_Bars_n` (older runs: prefix first,
  or no bar count) and writes the middle.

In harmonize and regenerate every composed voice stays within the pitches it had in training
(with the training's transposition: `voice_ranges`), as the given melody must.

Each refuses what it cannot do in one sentence before any sampling. A piece without a key
signature is given the key `estimate_key` hears in it, so that the model's `Key` token (the
header's) is stated as in training.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from cadenza.bundle import Bundle
from cadenza.errors import CadenzaError
from cadenza.generation.compose import ComposeSettings, Composition, name_voices
from cadenza.generation.constraints import Constraints, grammar_options
from cadenza.generation.forcing import BarSpanGrammar, KeptVoicesGrammar, NotesLayout
from cadenza.generation.generate import generate_ids
from cadenza.music.keys import estimate_key
from cadenza.music.score import Score, Track
from cadenza.representations.pitch_names import pitch_name

VOICE_NAMES = ("soprano", "alto", "tenor", "bass")
LONGEST_PIECE = 20_000  # tokens: a bound on any composition around given notes


def notes_representation(bundle: Bundle, action: str, constraints: Constraints | None = None):
    """The run's representation, if it can compose around given notes (with the sampling
    rules `constraints` ask of it)."""
    representation = bundle.representation(**grammar_options(bundle, constraints))
    if not hasattr(representation, "fill_in_the_middle_tokens"):
        raise CadenzaError(
            f"{action} needs a model trained on the notes representation, not "
            f"{representation.name!r}"
        )
    return representation


def voice_count(bundle: Bundle) -> int:
    """How many voices the model's training pieces have (the tracks it has ranges for)."""
    facts = bundle.run_config.facts
    return len(facts.get("track_ranges", [])) or len(facts.get("monophonic_tracks", [])) or 4


def parse_voices(text: str, count: int) -> list[int]:
    """ "alto" or "alto,tenor" or "1,2" -> track numbers (0 = soprano)."""
    voices = []
    for part in (piece.strip().lower() for piece in text.split(",")):
        if part in VOICE_NAMES[:count]:
            voices.append(VOICE_NAMES.index(part))
        elif part.isdigit() and int(part) < count:
            voices.append(int(part))
        else:
            names = ", ".join(VOICE_NAMES[:count])
            raise CadenzaError(
                f"--regenerate {text}: {part!r} is not a voice of this model ({names}, or "
                f"0..{count - 1})"
            )
    return sorted(set(voices))


def parse_bars(text: str) -> tuple[int, int]:
    """ "5-8" or "5" -> (5, 8) or (5, 5)."""
    first, _, last = text.partition("-")
    try:
        bars = (int(first), int(last or first))
    except ValueError:
        raise CadenzaError(f"--infill {text}: give bars as FIRST-LAST, e.g. 5-8") from None
    if not 1 <= bars[0] <= bars[1]:
        raise CadenzaError(f"--infill {text}: bars count from 1, FIRST <= LAST")
    return bars


def check_given_notes(regenerate: str | None, infill: str | None, primer: str) -> None:
    """Refuse --regenerate/--infill combinations that cannot act, before any work."""
    if regenerate and infill:
        raise CadenzaError("give --regenerate or --infill, not both")
    if (regenerate or infill) and primer in ("random", "none"):
        flag = "--regenerate" if regenerate else "--infill"
        raise CadenzaError(f"{flag} needs --primer PIECE (a score file with the given notes)")
    if infill:
        parse_bars(infill)


def read_given_piece(path: Path, tune: int | None, track: str | None = None) -> Score:
    """A score file with its tracks kept apart (or one track, `track`)."""
    from cadenza.music.io import read_score
    from cadenza.music.tracks import TrackPolicy, TrackPolicyError, apply_track_policy

    try:
        score, _ = apply_track_policy(read_score(path, tune), TrackPolicy(track, separate=True))
    except TrackPolicyError as error:
        raise CadenzaError(f"{path}: {error}") from None
    return score


def check_melody(bundle: Bundle, melody: Score, name: str) -> Score:
    """The melody as the soprano of the model's pieces: one track, one note at a time, in
    range, in a meter the grid holds; else one sentence naming the file."""
    representation = notes_representation(bundle, "harmonize")
    tracks = [track for track in melody.tracks if len(track)]
    if len(tracks) != 1:
        raise CadenzaError(
            f"{name}: holds {len(tracks)} voices with notes; choose the melody with --track N"
        )
    quantized = representation.quantize(melody.with_tracks([tracks[0]]))
    track = quantized.tracks[0]
    onsets = track.onsets
    if len(onsets) != len(np.unique(onsets)):
        at = float(onsets[np.flatnonzero(np.diff(onsets) == 0)[0]])
        raise CadenzaError(
            f"{name}: two notes start together at quarter {at:g}; a melody sings one note at a time"
        )
    _, statistics = representation.encode_with_statistics(quantized)
    if statistics.get("meters snapped"):
        raise CadenzaError(f"{name}: its meter is not one the notes grid can hold")
    low, high = _soprano_range(bundle)
    if track.pitches.min() < low or track.pitches.max() > high:
        raise CadenzaError(
            f"{name}: the melody spans {pitch_name(int(track.pitches.min()))}-"
            f"{pitch_name(int(track.pitches.max()))}, outside the soprano's range in training "
            f"with transposition ({pitch_name(low)}-{pitch_name(high)})"
        )
    return quantized.with_tracks([_ended_at_next(track)])  # a held note ends at the next


def _soprano_range(bundle: Bundle) -> tuple[int, int]:
    return (voice_ranges(bundle) or [(0, 127)])[0]


def voice_ranges(bundle: Bundle) -> list[tuple[int, int]]:
    """Each voice's lowest and highest pitch in training, widened by the transposition the
    training windows had (the compass the model has heard the voice sing)."""
    run = bundle.run_config
    low_shift, high_shift = run.transpose
    return [
        (max(0, low + low_shift), min(127, high + high_shift))
        for low, high in run.facts.get("track_ranges") or []
    ]


def harmonize(
    bundle: Bundle, melody: Score, settings: ComposeSettings, constraints: Constraints | None
) -> Composition:
    """Compose the lower voices under `melody` (checked by `check_melody`)."""
    representation = notes_representation(bundle, "harmonize", constraints)
    count = voice_count(bundle)
    blank = [Track(name=VOICE_NAMES[n].capitalize()) for n in range(1, count)]
    piece = melody.with_tracks([melody.tracks[0], *blank])
    layout = _layout(bundle, representation, piece, constraints)
    return _keep_and_compose(bundle, representation, layout, [0], settings, constraints)


def regenerate(
    bundle: Bundle,
    piece: Score,
    voices: list[int],
    settings: ComposeSettings,
    constraints: Constraints | None,
) -> Composition:
    """Compose `voices` of `piece` anew, keeping its other voices note for note."""
    representation = notes_representation(bundle, "--regenerate", constraints)
    layout = _layout(bundle, representation, piece, constraints)
    if max(voices) >= layout.track_count:
        raise CadenzaError(
            f"--regenerate: the primer has {layout.track_count} voices, no voice {max(voices)}"
        )
    kept = [t for t in range(layout.track_count) if t not in voices]
    return _keep_and_compose(bundle, representation, layout, kept, settings, constraints)


def _layout(bundle: Bundle, representation, piece: Score, constraints=None) -> NotesLayout:
    """The piece's tokens as a layout, in the key `--key` gives, else the piece's own, else
    the one estimated; tokens the model's vocabulary lacks (a key, for a run trained before
    keys) left out."""
    if constraints is not None and constraints.key is not None:
        piece = replace(piece, key_signatures=[constraints.key])
    elif not piece.key_signatures:
        estimated = estimate_key(piece)
        piece = replace(piece, key_signatures=[estimated] if estimated else [])
    known = bundle.vocabulary.index
    return NotesLayout.parse([t for t in representation.encode(piece) if t in known])


def _keep_and_compose(bundle, representation, layout, kept, settings, constraints):
    tokens = bundle.vocabulary.tokens
    grammar = KeptVoicesGrammar(
        tokens, layout, kept, representation.monophonic_tracks, representation.no_parallels,
        voice_ranges(bundle),  # a composed voice stays in its compass; kept notes are given
    )  # fmt: skip
    start = bundle.vocabulary.encode(["START"]).tolist()
    grammar.push(start[0])
    generator = torch.Generator().manual_seed(settings.seed)
    length = min(LONGEST_PIECE, 8 * len(layout.tokens()) + 64)
    ids = generate_ids(
        bundle, start, length, settings.sampling(), generator, constraints, grammar=grammar
    )
    produced = bundle.vocabulary.decode(ids)
    score = representation.decode(["START", *produced], bpm=settings.tempo)
    given = sum(len(bar.notes) for bar in layout.bars) - sum(
        1 for bar in layout.bars for _, t, _ in bar.notes if t not in kept
    )
    summary = f"{score.note_count} notes, {given} of them given"
    return Composition(name_voices(score), ["START", *produced], summary)


def infill(
    bundle: Bundle,
    piece: Score,
    bars: tuple[int, int],
    settings: ComposeSettings,
    constraints: Constraints | None,
) -> Composition:
    """Compose bars `bars` (1-based, inclusive) of `piece` anew between its other bars."""
    representation = notes_representation(bundle, "--infill", constraints)
    if not bundle.run_config.fill_in_the_middle:
        raise CadenzaError(
            "--infill needs a model trained with fill-in-the-middle; this run was trained "
            "without it (train with --fill-in-the-middle 0.25)"
        )
    layout = _layout(bundle, representation, piece, constraints)
    first, last = bars[0] - 1, bars[1] - 1
    if not 0 <= first <= last < len(layout.bars):
        raise CadenzaError(
            f"--infill {bars[0]}-{bars[1]}: the primer has bars 1-{len(layout.bars)}"
        )
    prefix = _bars_tokens(layout, 0, first, header=True)
    suffix = [*_bars_tokens(layout, last + 1, len(layout.bars)), "END"]
    middle_guess = len(_bars_tokens(layout, first, last + 1))
    model_input = _fill_in_layout(
        bundle, representation, prefix, suffix, middle_guess, last - first + 1
    )
    grammar = BarSpanGrammar(
        bundle.vocabulary.tokens, layout, first, last, representation.monophonic_tracks,
        representation.no_parallels,
    )  # fmt: skip
    grammar.prime(prefix)
    generator = torch.Generator().manual_seed(settings.seed)
    length = min(LONGEST_PIECE, 4 * middle_guess + 256)
    ids = generate_ids(
        bundle, model_input, length, settings.sampling(), generator, constraints, grammar
    )
    middle = bundle.vocabulary.decode(ids)
    if grammar.finished and middle and (middle[-1].startswith("Bar") or middle[-1] == "END"):
        middle = middle[:-1]  # the suffix's own first token
    tokens = [*prefix, *middle, *suffix]
    score = _one_note_at_a_time(representation.decode(tokens, bpm=settings.tempo), representation)
    summary = f"bars {bars[0]}-{bars[1]} composed anew ({len(middle)} tokens)"
    return Composition(name_voices(score), tokens, summary)


def _bars_tokens(layout: NotesLayout, start: int, stop: int, header: bool = False) -> list[str]:
    part = NotesLayout(layout.header if header else [], layout.bars[start:stop])
    return part.tokens()[:-1]  # without END


def _fill_in_layout(bundle, representation, prefix, suffix, middle_guess, bars) -> list[int]:
    """The fill-in-the-middle layout the run was trained with, as ids, the prefix's end and the
    suffix's start cut so that the middle has room in the model's context; `bars`: how many
    bars the middle holds (stated where the vocabulary has `FIM_Bars_n`)."""
    context = bundle.run_config.context or 512  # 512 for a model without one (recurrent)
    room = max(0, context - 3 - int(1.5 * middle_guess) - 16)
    keep_suffix = min(len(suffix), room // 2)
    keep_prefix = min(len(prefix), room - keep_suffix)
    prefix_id, suffix_id, middle_id = representation.fill_in_the_middle_tokens
    prefix_part = [prefix_id, *prefix[len(prefix) - keep_prefix :]]
    suffix_part = [suffix_id, *suffix[:keep_suffix]]
    counts = getattr(representation, "fill_in_the_middle_bars_tokens", ())
    count = [counts[min(bars, len(counts)) - 1]] if counts else []
    if count and count[0] not in bundle.vocabulary.index:
        count = []  # a run trained before the middle's bar count was stated
    order = bundle.run_config.results.get("fill_in_the_middle_order")
    if order == "suffix-prefix-middle":  # training/data.py; older runs: prefix first
        layout = [*suffix_part, *prefix_part, middle_id, *count]
    else:
        layout = [*prefix_part, *suffix_part, middle_id, *count]
    return bundle.vocabulary.encode(layout).tolist()


def _ended_at_next(track: Track) -> Track:
    """The track with each note cut where the next later note begins."""
    if len(track) < 2:
        return track
    durations = track.durations.copy()
    gaps = track.onsets[1:] - track.onsets[:-1]
    durations[:-1] = np.where(gaps > 0, np.minimum(durations[:-1], gaps), durations[:-1])
    return replace(track, durations=durations)


def _one_note_at_a_time(score: Score, representation) -> Score:
    """Monophonic voices: a composed note held into the next given one ends where it begins."""
    tracks = []
    for number, track in enumerate(score.tracks):
        monophonic = number in representation.monophonic_tracks
        tracks.append(_ended_at_next(track) if monophonic else track)
    return score.with_tracks(tracks)
