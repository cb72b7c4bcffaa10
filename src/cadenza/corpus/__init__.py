"""Corpus preparation: folders of scores -> a cached, split, tokenized corpus on disk."""
