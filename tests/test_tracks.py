"""The multi-track policy: merge non-drum tracks by default, or pick one."""

import pytest

from cadenza.music import Note, Track
from cadenza.music.tracks import TrackPolicy, TrackPolicyError, apply_track_policy
from tests.conftest import make_score


def test_default_merges_all_non_drum_tracks(piano_and_bass):
    chosen, note = apply_track_policy(piano_and_bass, TrackPolicy())
    assert [t.name for t in chosen.tracks] == ["Right hand", "Bass"]
    assert note == "merged 2 tracks, dropped 1 drum track"
    assert chosen.tempos == piano_and_bass.tempos


def test_drums_kept_when_asked(piano_and_bass):
    chosen, note = apply_track_policy(piano_and_bass, TrackPolicy(include_drums=True))
    assert len(chosen.tracks) == 3
    assert note == "merged 3 tracks"


@pytest.mark.parametrize("wanted", ["1", "bass", " Bass "])
def test_pick_one_track_by_index_or_name(piano_and_bass, wanted):
    chosen, note = apply_track_policy(piano_and_bass, TrackPolicy(track=wanted))
    assert [t.name for t in chosen.tracks] == ["Bass"]
    assert "kept track 'Bass'" in note


@pytest.mark.parametrize(
    ("policy", "reason", "message"),
    [
        (TrackPolicy(track="7"), "no such track", "no track 7"),
        (TrackPolicy(track="Violin"), "no such track", "no track named 'Violin'"),
    ],
)
def test_missing_track_is_reported(piano_and_bass, policy, reason, message):
    with pytest.raises(TrackPolicyError, match=message) as caught:
        apply_track_policy(piano_and_bass, policy)
    assert caught.value.reason == reason


def test_drums_only_and_empty_scores():
    drums = Track.from_notes([Note(0, 1, 36)], name="Kit", is_drum=True)
    with pytest.raises(TrackPolicyError) as caught:
        apply_track_policy(make_score(drums), TrackPolicy())
    assert caught.value.reason == "drums only"
    with pytest.raises(TrackPolicyError) as caught:
        apply_track_policy(make_score(Track(name="silent")), TrackPolicy())
    assert caught.value.reason == "empty"
