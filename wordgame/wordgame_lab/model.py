"""Reference model of the wordgame rules (../shared/wordgame-api.md), and invariant checks."""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_GUESSES = 6
UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.I)
# English letter frequency, most frequent first (what a real player tries first).
FREQUENCY = "ETAOINSHRDLCUMWFGYPBVKJXQZ"
LETTER_WEIGHTS = dict(zip(FREQUENCY, (12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4,
                                      2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.15, 0.15, 0.1, 0.07)))


@dataclass
class GameModel:
    """The exact state a game must have, given its secret word."""
    word: str
    current: str = ""
    guesses_remaining: int = MAX_GUESSES

    def __post_init__(self):
        if not self.current:
            self.current = "_" * len(self.word)

    @property
    def won(self) -> bool:
        return "_" not in self.current

    @property
    def lost(self) -> bool:
        return self.guesses_remaining <= 0

    @property
    def finished(self) -> bool:
        return self.won or self.lost

    def guess(self, letter: str) -> "GameModel":
        if len(letter) != 1 or not letter.isalpha():
            raise ValueError(f"not a single letter: {letter!r}")
        L = letter.upper()
        if L in self.word:
            self.current = "".join(c if c == L else cur for c, cur in zip(self.word, self.current))
        else:
            self.guesses_remaining -= 1
        return self

    def state(self) -> dict:
        return {"current": self.current, "guesses_remaining": self.guesses_remaining}


def check_transition(before: dict, after: dict, letter: str) -> list[str]:
    """Invariants that hold for any secret word; returns the violations (empty = fine)."""
    errs = []
    b, a = before["current"], after.get("current")
    L = letter.upper()
    if not isinstance(a, str) or len(a) != len(b):
        return [f"length changed: {b!r} -> {a!r}"]
    r0, r1 = before["guesses_remaining"], after.get("guesses_remaining")
    if not isinstance(r1, int) or r1 > r0:
        errs.append(f"guesses_remaining increased or invalid: {r0} -> {r1!r}")
        return errs
    for i, (x, y) in enumerate(zip(b, a)):
        if x != "_" and x != y:
            errs.append(f"revealed letter changed or vanished at {i}: {b!r} -> {a!r}")
            break
        if x == "_" and y != "_" and y != L:
            errs.append(f"guess {L!r} revealed a different letter at {i}: {b!r} -> {a!r}")
            break
    newly = sum(1 for x, y in zip(b, a) if x == "_" and y != "_")
    already = L in b
    hit = newly > 0 or already
    if hit and r1 != r0:
        errs.append(f"hit on {L!r} cost a guess: {r0} -> {r1}")
    if not hit and r1 != r0 - 1:
        errs.append(f"miss on {L!r} should cost exactly one guess: {r0} -> {r1}")
    if already and a != b:
        errs.append(f"repeated hit {L!r} changed the state: {b!r} -> {a!r}")
    return errs


def is_finished(state: dict) -> bool:
    return "_" not in state["current"] or state["guesses_remaining"] <= 0
