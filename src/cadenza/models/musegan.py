"""`musegan`: four voices at once as a picture (MuseGAN; Generative Deep Learning, chapter 7).

The generator is fed four kinds of noise: *chords* (one vector shared by all voices and
bars), *style* (shared by all voices and bars), *melody* (one vector per voice, turned into
a different vector per bar) and *groove* (one per voice, the same in every bar). Temporal
networks turn the chords noise, and each voice's melody noise, into one vector per bar; for
each bar and voice, a bar generator of that voice turns [chords, style, melody, groove] into
16 steps x 84 pitches. The critic reads the whole phrase with 3D convolutions (bars, steps,
pitches; the voices are its input channels) and scores it with one unbounded number
(WGAN-GP, see `training/gan.py`).

Tensors are laid out as the representation's phrases: (B, bars, steps, pitches, tracks),
with values in [-1, 1] (tanh; the training data is -1 / +1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class MuseGANConfig:
    """Architecture; `pitches`, `bars`, `steps_per_bar` and `tracks` come from the corpus."""

    pitches: int = 84
    bars: int = 2
    steps_per_bar: int = 16
    tracks: int = 4
    noise_size: int = 32  # each of chords, style, melody, groove
    temporal_size: int = 1024  # hidden channels of the temporal networks
    bar_width: int = 256  # channels of a bar generator (its first layers have twice as many)
    critic_width: int = 128  # channels of the critic's convolutions (its last two: 2x, 4x)
    critic_dense: int = 1024
    # False: tanh on each cell, as the book; True: per voice and step one softmax over the
    # 84 pitches and silence, so that a voice sings one pitch at a time.
    softmax: bool = False

    def __post_init__(self) -> None:
        if self.pitches != 84 or self.steps_per_bar != 16:
            raise ValueError(
                f"the network is built for 16 steps x 84 pitches per bar, got "
                f"{self.steps_per_bar} x {self.pitches}"
            )
        if self.bars < 2:
            raise ValueError(f"bars must be at least 2, got {self.bars}")
        for name in ("tracks", "noise_size", "temporal_size", "bar_width", "critic_width",
                     "critic_dense"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, dict] = {
    # Generative Deep Learning's network: about 6.5 M generator and 1.4 M critic weights.
    "book": dict(
        noise_size=32, temporal_size=1024, bar_width=256, critic_width=128, critic_dense=1024
    ),
    # Chosen by measurement on a 2-core CPU (benchmarks/RESULTS.md): small enough to train
    # in about ten minutes, with a bundle of a few MB.
    "default": dict(
        noise_size=32,
        temporal_size=256,
        bar_width=64,
        critic_width=64,
        critic_dense=256,
        softmax=True,
    ),
    # For tests.
    "tiny": dict(noise_size=4, temporal_size=8, bar_width=4, critic_width=4, critic_dense=8),
}


class Noise(NamedTuple):
    """The generator's four inputs."""

    chords: torch.Tensor  # (B, Z): shared by all voices and bars
    style: torch.Tensor  # (B, Z): shared by all voices and bars
    melody: torch.Tensor  # (B, tracks, Z): per voice, changes over bars
    groove: torch.Tensor  # (B, tracks, Z): per voice, the same in every bar

    @property
    def batch_size(self) -> int:
        return self.chords.shape[0]


def sample_noise(
    config: MuseGANConfig,
    batch: int,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> Noise:
    """Standard normal noise for `batch` phrases (drawn on the CPU, so that a seed gives the
    same noise on any device)."""
    Z, tracks = config.noise_size, config.tracks

    def draw(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator).to(device)

    return Noise(draw(batch, Z), draw(batch, Z), draw(batch, tracks, Z), draw(batch, tracks, Z))


class TemporalNetwork(nn.Module):
    """One noise vector -> one vector per bar (two transposed convolutions over time)."""

    def __init__(self, config: MuseGANConfig) -> None:
        super().__init__()
        Z, H = config.noise_size, config.temporal_size
        self.layers = nn.Sequential(
            nn.ConvTranspose1d(Z, H, kernel_size=2),  # 1 -> 2 steps
            nn.BatchNorm1d(H),
            nn.ReLU(),
            nn.ConvTranspose1d(H, Z, kernel_size=config.bars - 1),  # 2 -> bars steps
            nn.BatchNorm1d(Z),
            nn.ReLU(),
        )

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.layers(noise[:, :, None]).transpose(1, 2)  # (B, Z) -> (B, bars, Z)


class BlockConvTranspose2d(nn.ConvTranspose2d):
    """A transposed convolution whose stride equals its kernel (each cell becomes one block),
    on channels-last tensors (N, H, W, C), computed as one matrix product: about 2.5x faster
    on a CPU than `ConvTranspose2d`'s own kernels, with the same weights (benchmarks/RESULTS.md)."""

    def __init__(self, inputs: int, outputs: int, kernel: tuple[int, int]) -> None:
        super().__init__(inputs, outputs, kernel, stride=kernel)

    def forward(self, cells: torch.Tensor) -> torch.Tensor:
        N, H, W, _ = cells.shape
        kh, kw = self.kernel_size
        weight = self.weight.permute(2, 3, 1, 0).reshape(-1, self.in_channels)  # (kh kw out, in)
        blocks = F.linear(cells, weight).view(N, H, W, kh, kw, self.out_channels)
        blocks = blocks.permute(0, 1, 3, 2, 4, 5).reshape(N, H * kh, W * kw, self.out_channels)
        return blocks + self.bias


class BlockConv3d(nn.Conv3d):
    """A 3D convolution whose stride equals its kernel (it reads disjoint blocks), on
    channels-last tensors (B, D, H, W, C), computed as one matrix product: about 2.5x faster
    on a CPU than `Conv3d`'s own kernels, double backward included (benchmarks/RESULTS.md)."""

    def __init__(self, inputs: int, outputs: int, kernel: tuple[int, int, int]) -> None:
        super().__init__(inputs, outputs, kernel, stride=kernel)

    def forward(self, cells: torch.Tensor) -> torch.Tensor:
        B, D, H, W, C = cells.shape
        kd, kh, kw = self.kernel_size
        blocks = cells.reshape(B, D // kd, kd, H // kh, kh, W // kw, kw, C)
        blocks = blocks.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(B, D // kd, H // kh, W // kw, -1)
        weight = self.weight.permute(0, 2, 3, 4, 1).reshape(self.out_channels, -1)
        return F.linear(blocks, weight, self.bias)  # (B, D', H', W', out)


class ChannelNorm(nn.BatchNorm1d):
    """Batch normalization of the last axis of a channels-last tensor."""

    def forward(self, cells: torch.Tensor) -> torch.Tensor:
        return super().forward(cells.reshape(-1, cells.shape[-1])).view(cells.shape)


class BarGenerator(nn.Module):
    """[chords, style, melody, groove] of one bar -> that bar of one voice, (N, 16, 84)."""

    def __init__(self, config: MuseGANConfig) -> None:
        super().__init__()
        W = config.bar_width
        self.dense = nn.Sequential(
            nn.Linear(4 * config.noise_size, 2 * 2 * W), nn.BatchNorm1d(2 * 2 * W), nn.ReLU()
        )

        def up(inputs: int, outputs: int, kernel: tuple[int, int]) -> list[nn.Module]:
            return [BlockConvTranspose2d(inputs, outputs, kernel), ChannelNorm(outputs), nn.ReLU()]

        # (2 steps, 1, 2W) -> 4 -> 8 -> 16 steps; then 1 -> 7 octaves -> 84 pitches.
        self.steps = nn.Sequential(
            *up(2 * W, 2 * W, (2, 1)), *up(2 * W, W, (2, 1)), *up(W, W, (2, 1))
        )
        self.pitches = nn.Sequential(*up(W, W, (1, 7)), BlockConvTranspose2d(W, 1, (1, 12)))
        self.softmax = config.softmax
        if self.softmax:
            self.silence = nn.Linear(W, 1)  # one more logit per step: the voice is silent

    def forward(self, inputs: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
        """`allowed` (84,) bool: the pitches that may sound; the others are held at -1 (with
        the softmax, their share goes to the allowed pitches and silence)."""
        cells = self.dense(inputs).view(inputs.shape[0], 2, 1, -1)  # (N, 2, 1, 2W)
        steps = self.steps(cells)  # (N, 16, 1, W)
        logits = self.pitches(steps)[..., 0]  # (N, 16, 84)
        if not self.softmax:
            values = torch.tanh(logits)
            return values if allowed is None else values.masked_fill(~allowed, -1.0)
        if allowed is not None:
            logits = logits.masked_fill(~allowed, float("-inf"))
        logits = torch.cat([logits, self.silence(steps[:, :, 0])], dim=-1)  # (N, 16, 85)
        return 2 * torch.softmax(logits, dim=-1)[..., :-1] - 1  # silence: every pitch at -1


class MuseGANGenerator(nn.Module):
    """Noise -> phrases (B, bars, steps, pitches, tracks) in [-1, 1]."""

    def __init__(self, config: MuseGANConfig) -> None:
        super().__init__()
        self.config = config
        self.chords_over_time = TemporalNetwork(config)
        self.melody_over_time = nn.ModuleList(TemporalNetwork(config) for _ in range(config.tracks))
        self.bar_generators = nn.ModuleList(BarGenerator(config) for _ in range(config.tracks))

    def forward(self, noise: Noise, allowed: torch.Tensor | None = None) -> torch.Tensor:
        """`allowed` (pitches,) bool: only these pitches may sound (a scale, a range)."""
        B, bars, Z = noise.batch_size, self.config.bars, self.config.noise_size
        chords = self.chords_over_time(noise.chords)  # (B, bars, Z)
        voices = []
        for track, (temporal, bar_generator) in enumerate(
            zip(self.melody_over_time, self.bar_generators, strict=True)
        ):
            melody = temporal(noise.melody[:, track])  # (B, bars, Z)
            style = noise.style[:, None].expand(B, bars, Z)
            groove = noise.groove[:, track, None].expand(B, bars, Z)
            inputs = torch.cat([chords, style, melody, groove], dim=-1)  # (B, bars, 4Z)
            # All bars of the batch at once: the bar generator sees (B * bars, 4Z).
            voice = bar_generator(inputs.reshape(B * bars, 4 * Z), allowed)  # (B * bars, 16, 84)
            voices.append(voice.view(B, bars, *voice.shape[1:]))
        return torch.stack(voices, dim=-1)  # (B, bars, steps, pitches, tracks)

    def sample(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Phrases from fresh noise."""
        return self(sample_noise(self.config, batch, generator))


class MuseGANCritic(nn.Module):
    """Phrases (B, bars, steps, pitches, tracks) -> (B,) scores (higher: more like the data)."""

    def __init__(self, config: MuseGANConfig) -> None:
        super().__init__()
        C = config.critic_width
        leaky = nn.LeakyReLU(0.2)
        # 3D convolutions over (bars, steps, pitches), the voices being the input channels.
        # The first reads all bars and one octave at once; the book's first two read each
        # cell, and a third merges the octave: 6x the time per critic step on a CPU.
        self.blocks = nn.Sequential(
            BlockConv3d(config.tracks, C, (config.bars, 1, 12)), leaky,  # -> 1 bar, 7 octaves
            BlockConv3d(C, C, (1, 1, 7)), leaky,  # 7 octaves -> 1
            BlockConv3d(C, C, (1, 2, 1)), leaky,  # 16 steps -> 8
            BlockConv3d(C, C, (1, 2, 1)), leaky,  # -> 4
        )  # fmt: skip
        self.overlapping = nn.Sequential(
            nn.Conv3d(C, 2 * C, (1, 4, 1), stride=(1, 2, 1), padding=(0, 1, 0)), leaky,  # -> 2
            nn.Conv3d(2 * C, 4 * C, (1, 3, 1), stride=(1, 2, 1), padding=(0, 1, 0)), leaky,  # 1
            nn.Flatten(),
            nn.Linear(4 * C, config.critic_dense), leaky,
            nn.Linear(config.critic_dense, 1),
        )  # fmt: skip

    def forward(self, phrases: torch.Tensor) -> torch.Tensor:
        cells = self.blocks(phrases)  # channels (voices) last already: -> (B, 1, 4, 1, C)
        return self.overlapping(cells.permute(0, 4, 1, 2, 3))[:, 0]  # (B, C, 1, 4, 1) in
