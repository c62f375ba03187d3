"""Tooling for the wordgame server: run it, test it, load it, break it."""
from .server import DEFAULT_WORDS, WordgameError, WordgameServer, build_binary
