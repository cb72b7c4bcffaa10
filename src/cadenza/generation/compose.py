"""One composition from a loaded run: settings in, a `Score` out (for the CLI and the web page)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from cadenza.bundle import Bundle, RunConfig
from cadenza.errors import CadenzaError
from cadenza.generation.constraints import Constraints
from cadenza.generation.events import EventTrace, generate_events
from cadenza.generation.generate import generate_ids, primer_ids
from cadenza.generation.sampling import SamplingConfig
from cadenza.models import model_kind
from cadenza.music.io import check_tune
from cadenza.music.keys import estimate_key, parse_key
from cadenza.music.score import Score
from cadenza.representations import get_representation

MAX_SEED = 2**63 - 1  # what both torch's and numpy's generators take


def check_seed(seed: int) -> None:
    """Refuse a seed that the random generators cannot take."""
    if not 0 <= seed <= MAX_SEED:
        raise CadenzaError(f"--seed must be 0..{MAX_SEED}, got {seed}")


@dataclass(frozen=True)
class ComposeSettings:
    """What `cadenza generate` asks for; the flag names appear in the error messages."""

    length: int = 500
    primer: str = "random"  # "random", "none", or a score file's path
    temperature: float = 1.0
    pitch_temperature: float | None = None  # two-stream models; None: `temperature`
    duration_temperature: float | None = None
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0
    step: float = 0.5
    tempo: float = 120.0
    instrument: int = 0
    key: str | None = None
    tune: int | None = None  # of a primer ABC file of several tunes, which (1-based)

    def __post_init__(self) -> None:
        self.sampling("pitch"), self.sampling("duration")  # temperatures, top-k, top-p
        if not (0.01 <= self.step <= 64 and 1 <= self.tempo <= 1000):
            raise CadenzaError(
                f"--step must be 0.01..64 quarters and --tempo 1..1000 bpm, got {self.step}, "
                f"{self.tempo}"
            )
        if not 0 <= self.instrument <= 127:
            raise CadenzaError(f"--instrument must be a MIDI program 0..127, got {self.instrument}")
        if self.length < 1:
            raise CadenzaError(f"--length must be at least 1, got {self.length}")
        check_seed(self.seed)
        if self.tune is not None and self.primer in ("random", "none"):
            raise CadenzaError("--tune chooses a tune of a --primer ABC file; give one")
        if self.primer not in ("random", "none"):
            check_tune(self.primer, self.tune)  # an ABC file of 200 tunes: before any parsing
        if self.key:
            parse_key(self.key)

    def sampling(self, head: str | None = None) -> SamplingConfig:
        """The sampling rule for one head of a two-stream model, or for single-stream models."""
        own = {"pitch": self.pitch_temperature, "duration": self.duration_temperature}.get(head)
        return SamplingConfig(self.temperature if own is None else own, self.top_k, self.top_p)


# The `generate` flags every token model acts on (besides the output, rendering and threads,
# which `generate` handles for every run); `generate_flags` adds what depends on the run.
TOKEN_FLAGS = frozenset(
    {"length", "primer", "tune", "temperature", "top_k", "top_p", "seed", "tempo", "key",
     "scale", "pitch_range", "max_repeat", "no_repeat_ngram", "end_on_tonic"}
)  # fmt: skip
# Decoding options of a representation (its dataclass fields) -> the flag that sets them.
DECODING_FLAGS = {"step": "step", "program": "instrument", "no_parallels": "no_parallels"}


def generate_flags(config: RunConfig, arranging: bool = False) -> frozenset[str]:
    """The `generate` flags (argparse names) a token run with this config acts on: besides
    TOKEN_FLAGS, the per-head temperatures and `plots` (the attention) for two-stream models,
    the decoding options its representation has, `regenerate` and `infill` where it composes
    around given notes; `length` not when `arranging` (the given notes decide it)."""
    kind = model_kind(config.model_name)
    representation = get_representation(
        config.representation_name, **config.representation_settings
    )
    flags = set(TOKEN_FLAGS)
    if kind.pairs:
        flags |= {"pitch_temperature", "duration_temperature", "plots"}
    flags |= {flag for option, flag in DECODING_FLAGS.items() if hasattr(representation, option)}
    if hasattr(representation, "fill_in_the_middle_tokens"):
        flags |= {"regenerate", "infill"}
    return frozenset(flags - {"length"} if arranging else flags)


@dataclass
class Composition:
    """A generated piece: its score, its tokens, a summary for people, the attention trace."""

    score: Score
    tokens: list[str]
    summary: str  # "500 tokens (87 distinct)" or "120 events"
    trace: EventTrace | None = None


def compose(
    bundle: Bundle, settings: ComposeSettings, constraints: Constraints | None = None
) -> Composition:
    """Sample a piece from `bundle` as `settings` ask, within `constraints` (scale, range,
    repeats); seeded, so the same settings repeat it."""
    name = bundle.run_config.model_name
    if model_kind(name).makes_phrases:  # the web page offers every run it is given
        raise CadenzaError(
            f"a {name} model composes whole phrases, not token by token: compose with it "
            "through `cadenza generate RUN --bars N`"
        )
    generator = torch.Generator().manual_seed(settings.seed)
    primer = primer_ids(bundle, settings.primer, generator, settings.tune)
    if model_kind(name).pairs:
        tokens, trace = generate_events(
            bundle, primer, settings.length, settings.sampling("pitch"),
            settings.sampling("duration"), generator, constraints=constraints,
        )  # fmt: skip
        summary = f"{len(tokens) // 2} events"
    else:
        sampling = settings.sampling()
        ids = generate_ids(bundle, primer, settings.length, sampling, generator, constraints)
        tokens, trace = bundle.vocabulary.decode(ids), None
        summary = f"{len(tokens)} tokens ({len(set(tokens))} distinct)"
    run = bundle.run_config
    representation = get_representation(
        run.representation_name,
        step=settings.step,
        program=settings.instrument,
        **run.representation_settings,
    )
    score = at_tempo(representation.decode(tokens, bpm=settings.tempo), settings.tempo)
    if settings.key:  # a notes model states its own key, which --key has chosen
        score.key_signatures = [parse_key(settings.key)]
    elif score.key_signatures:  # a key the model chose: notated as the notes are heard, since
        # the music does not always keep to its header's key (benchmarks/RESULTS.md)
        score.key_signatures = [estimate_key(score) or score.key_signatures[0]]
    return Composition(name_voices(score), tokens, summary, trace)


def at_tempo(score: Score, bpm: float) -> Score:
    """`--tempo` for the piece's opening, tempo changes that a model wrote scaled alike."""
    if score.tempos and score.tempos[0].bpm != bpm:
        factor = bpm / score.tempos[0].bpm
        score.tempos = [replace(change, bpm=change.bpm * factor) for change in score.tempos]
    return score


VOICE_NAMES = ("Soprano", "Alto", "Tenor", "Bass")


def name_voices(score: Score) -> Score:
    """Four tracks of one instrument are the four voices of a chorale: they get their names
    (for the MIDI tracks and the staves of the sheet music)."""
    tracks = score.tracks
    if len(tracks) == len(VOICE_NAMES) and len({(t.program, t.is_drum) for t in tracks}) == 1:
        for track, name in zip(tracks, VOICE_NAMES, strict=True):
            track.name = name
    return score
