"""Copy checks: how long a run a piece shares with a reference corpus, and how many of its
n-grams the corpus holds.

`CopyIndex` builds one suffix automaton over all reference sequences (joined with separators
that match nothing, so no run crosses two pieces). Walking a query through it gives, at every
position i, the length L_i of the longest run ending at i that occurs somewhere in the
references, in time linear in the query; the index costs time and memory linear in the total
reference length. The longest shared run is max_i L_i, and an n-gram ending at i occurs in
the references exactly when L_i >= n.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SharedRun:
    """The longest run a query shares with the references: its length, where it ends in the
    query, and which reference holds it (None when nothing is shared)."""

    length: int
    query_end: int
    reference: int | None


class CopyIndex:
    """A suffix automaton over reference sequences of hashable symbols."""

    def __init__(self, references: Sequence[Sequence[Hashable]]) -> None:
        self.transitions: list[dict] = [{}]
        self.link = [-1]
        self.depth = [0]  # the longest string each state stands for
        self.first_end = [-1]  # where that string first ends in the joined references
        self._last = 0
        starts, position = [], 0
        for number, sequence in enumerate(references):
            starts.append(position)
            for symbol in sequence:
                self._extend(symbol, position)
                position += 1
            self._extend(_Separator(number), position)  # unique: matches no query symbol
            position += 1
        self.starts = np.array(starts, dtype=np.int64)

    def _new_state(self, depth: int, first_end: int, link: int, moves: dict) -> int:
        self.transitions.append(moves)
        self.link.append(link)
        self.depth.append(depth)
        self.first_end.append(first_end)
        return len(self.depth) - 1

    def _extend(self, symbol: Hashable, position: int) -> None:
        """The textbook online construction: add one symbol at the end."""
        current = self._new_state(self.depth[self._last] + 1, position, -1, {})
        state = self._last
        while state != -1 and symbol not in self.transitions[state]:
            self.transitions[state][symbol] = current
            state = self.link[state]
        if state == -1:
            self.link[current] = 0
        else:
            target = self.transitions[state][symbol]
            if self.depth[state] + 1 == self.depth[target]:
                self.link[current] = target
            else:
                clone = self._new_state(
                    self.depth[state] + 1,
                    self.first_end[target],
                    self.link[target],
                    dict(self.transitions[target]),
                )
                while state != -1 and self.transitions[state].get(symbol) == target:
                    self.transitions[state][symbol] = clone
                    state = self.link[state]
                self.link[target] = self.link[current] = clone
        self._last = current

    def match_lengths(self, query: Sequence[Hashable]) -> np.ndarray:
        """(len(query),) int: L_i, the longest run ending at query position i found in the
        references."""
        lengths = np.zeros(len(query), dtype=np.int64)
        self._walk(query, lengths)
        return lengths

    def _walk(self, query: Sequence[Hashable], lengths: np.ndarray) -> list[int]:
        states, state, length = [], 0, 0
        transitions, link, depth = self.transitions, self.link, self.depth
        for i, symbol in enumerate(query):
            while state and symbol not in transitions[state]:
                state = link[state]
                length = depth[state]
            if symbol in transitions[state]:
                state, length = transitions[state][symbol], length + 1
            else:
                state, length = 0, 0
            lengths[i] = length
            states.append(state)
        return states

    def longest_run(self, query: Sequence[Hashable]) -> SharedRun:
        """The longest run of `query` that occurs in one of the references."""
        lengths = np.zeros(len(query), dtype=np.int64)
        states = self._walk(query, lengths)
        if not len(query) or lengths.max() == 0:
            return SharedRun(0, -1, None)
        end = int(lengths.argmax())
        joined_end = self.first_end[states[end]]  # where that run first ends in the references
        reference = int(np.searchsorted(self.starts, joined_end, side="right")) - 1
        return SharedRun(int(lengths[end]), end, reference)


@dataclass(frozen=True)
class _Separator:
    """A symbol that equals only itself: joins references without letting runs cross them."""

    number: int


def shared_ngram_share(lengths: np.ndarray, n: int) -> float:
    """The share of a query's n-grams found in the references, from its `match_lengths`:
    #(i >= n - 1 with L_i >= n) / (len - n + 1); NaN for a query shorter than n."""
    if n < 1:
        raise ValueError(f"n-gram size must be at least 1, got {n}")
    if len(lengths) < n:
        return float("nan")
    return float(np.mean(lengths[n - 1 :] >= n))
