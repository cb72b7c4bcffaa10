"""Metrics: musical statistics of a piece (MusPy's), and copying checks against a corpus."""
