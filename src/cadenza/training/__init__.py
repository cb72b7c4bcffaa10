"""Training: windows from the memory-mapped corpus, the Lightning loop, and run bundles."""
