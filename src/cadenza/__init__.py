"""Cadenza: learn music from symbolic scores and compose new pieces."""

__version__ = "0.1.0"
