"""The dictionary a notebook or demo starts the server with."""
from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "WORDGAME_DICT"
FALLBACK_WORDS = ("GOPHER", "KERNEL", "SOCKET", "PYTHON")

__all__ = ["find_words", "ENV_VAR", "FALLBACK_WORDS"]


def find_words(path: str | os.PathLike | None = None) -> list[str]:
    """The words of ``path``, else of ``$WORDGAME_DICT``, else of the checkout's ``bin/words.txt``
    (``make setup`` writes it), else a few built-in words."""
    for cand in (path, os.environ.get(ENV_VAR), Path(__file__).resolve().parents[2] / "bin" / "words.txt"):
        if cand and Path(cand).is_file():
            return Path(cand).read_text().split()
    return list(FALLBACK_WORDS)
