"""Which tracks of a multi-track score are used, and a sentence saying what was done."""

from __future__ import annotations

from dataclasses import dataclass

from cadenza.errors import CadenzaError
from cadenza.music.score import Score


class TrackPolicyError(CadenzaError):
    """The policy leaves nothing to use; `reason` is a short label for reports."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class TrackPolicy:
    """Default: merge every non-drum track (`separate`: keep them apart, for representations
    whose tokens name the track). `track` picks one by index (0-based) or name."""

    track: str | None = None
    include_drums: bool = False
    separate: bool = False

    def describe(self) -> str:
        """The policy in words, for reports."""
        if self.track is not None:
            return f"track {self.track!r} only (a drum track too, when named)"
        drums = "drums included" if self.include_drums else "drums excluded"
        return f"all tracks {'kept apart' if self.separate else 'merged'}, {drums}"


def apply_track_policy(score: Score, policy: TrackPolicy) -> tuple[Score, str]:
    """Return the score reduced to the chosen tracks and a note on what the policy did."""
    with_notes = [track for track in score.tracks if len(track)]
    if not with_notes:
        raise TrackPolicyError("empty", "no notes")
    if policy.track is not None:
        chosen = _pick(score, policy.track)
        kept = [chosen]
        note = f"kept track {chosen.name!r} of {len(with_notes)} with notes"
    else:
        kept = [t for t in with_notes if policy.include_drums or not t.is_drum]
        if not kept:
            raise TrackPolicyError("drums only", "only drum tracks (use --drums to keep them)")
        dropped_drums = sum(t.is_drum for t in with_notes) - sum(t.is_drum for t in kept)
        verb = "kept" if policy.separate else "merged"
        note = f"{verb} {len(kept)} track{'s' if len(kept) != 1 else ''}"
        if dropped_drums:
            note += f", dropped {dropped_drums} drum track{'s' if dropped_drums != 1 else ''}"
    return score.with_tracks(kept), note


def _pick(score: Score, wanted: str):
    if wanted.lstrip("-").isdigit():
        index = int(wanted)
        if not 0 <= index < len(score.tracks):
            raise TrackPolicyError(
                "no such track", f"no track {index} ({len(score.tracks)} tracks)"
            )
        chosen = score.tracks[index]
    else:
        matches = [t for t in score.tracks if t.name.strip().lower() == wanted.strip().lower()]
        if not matches:
            names = ", ".join(repr(t.name) for t in score.tracks)
            raise TrackPolicyError("no such track", f"no track named {wanted!r} (tracks: {names})")
        chosen = matches[0]
    if not len(chosen):
        raise TrackPolicyError("empty", f"track {chosen.name!r} has no notes")
    return chosen
