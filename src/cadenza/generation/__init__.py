"""Generation: sampling rules, primers, and the token-by-token loop with carried state."""
