"""Training: windows from the memory-mapped corpus and the Lightning loops that make runs."""
