"""Brendan Gregg's folded stacks: 'root;caller;leaf value' per line."""
from __future__ import annotations

from collections.abc import Iterable


def folded_text(stacks: Iterable[tuple[str, int]]) -> str:
    """One line per (root-first ';'-joined stack, value); an empty stack is written '[no stack]'."""
    lines = []
    for folded, value in stacks:
        # ';' separates frames and the last space separates the count: keep names clean
        name = folded.replace("\n", " ") if folded else "[no stack]"
        lines.append(f"{name} {value}")
    return "\n".join(lines) + ("\n" if lines else "")
